#include "models/util/spec.h"

#include <charconv>
#include <cmath>

#include "models/util/error.h"

namespace ps::spec {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

[[noreturn]] void bad(std::string_view setting, std::string_view item, const std::string& problem) {
  throw InputError(std::string(setting) + ": '" + std::string(item) + "' " + problem);
}

}  // namespace

std::vector<std::string> split_list(std::string_view text, std::string_view setting, char sep) {
  std::vector<std::string> out;
  if (trim(text).empty()) return out;
  size_t start = 0;
  for (;;) {
    const size_t at = text.find(sep, start);
    const std::string_view item = trim(text.substr(start, at == std::string_view::npos ? text.npos : at - start));
    if (item.empty())
      throw InputError(std::string(setting) + ": empty item in '" + std::string(text) + "'");
    out.emplace_back(item);
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

bool try_int(std::string_view item, int64_t& out) {
  item = trim(item);
  if (!item.empty() && item.front() == '+') item.remove_prefix(1);
  if (item.empty()) return false;
  const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), out);
  return ec == std::errc() && end == item.data() + item.size();
}

std::map<std::string, int64_t> named_counts(std::string_view text, std::string_view setting, int64_t min) {
  std::map<std::string, int64_t> counts;
  if (text.empty()) return counts;
  if (text.find('=') == std::string_view::npos) {
    counts[""] = to_int(text, setting, min);
    return counts;
  }
  for (const auto& item : split_list(text, setting)) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      throw InputError(std::string(setting) + ": '" + item + "' is not NAME=N");
    if (!counts.emplace(item.substr(0, eq), to_int(item.substr(eq + 1), setting, min)).second)
      throw InputError(std::string(setting) + ": '" + item.substr(0, eq) + "' is given twice");
  }
  return counts;
}

int64_t to_int(std::string_view item, std::string_view setting, int64_t min, int64_t max) {
  int64_t v = 0;
  if (!try_int(item, v)) bad(setting, item, "is not an integer");
  if (v < min) bad(setting, item, "must be >= " + std::to_string(min));
  if (v > max) bad(setting, item, "must be <= " + std::to_string(max));
  return v;
}

double to_number(std::string_view item, std::string_view setting) {
  std::string_view t = trim(item);
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);
  double v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size()) bad(setting, item, "is not a number");
  if (!std::isfinite(v)) bad(setting, item, "is not a finite number");
  return v;
}

std::vector<int64_t> int_list(std::string_view text, std::string_view setting, int64_t min, int64_t max) {
  std::vector<int64_t> out;
  for (const auto& item : split_list(text, setting)) out.push_back(to_int(item, setting, min, max));
  if (out.empty()) throw InputError(std::string(setting) + ": empty list");
  return out;
}

std::vector<double> number_list(std::string_view text, std::string_view setting) {
  std::vector<double> out;
  for (const auto& item : split_list(text, setting)) out.push_back(to_number(item, setting));
  if (out.empty()) throw InputError(std::string(setting) + ": empty list");
  return out;
}

MaskSpec parse_mask(std::string_view text, std::string_view setting) {
  MaskSpec m;
  const std::string t(trim(text));
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    const size_t at = t.find(':', start);
    parts.push_back(t.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) break;
    start = at + 1;
  }
  const std::string& head = parts[0];
  const std::string what = std::string(setting) + " '" + t + "'";
  const auto bad = [&] {
    return InputError(what + ": expected default, causal, bidirectional, packed:LEN,LEN,...[:bidirectional], "
                             "lm-infinite:G:L[:LIMIT|none] or window:W[:causal|bidirectional]");
  };
  const auto count = [&](const std::string& part, int64_t min) {
    int64_t v = 0;
    if (!try_int(part, v) || v < min)
      throw InputError(what + ": '" + part + "' is not an integer >= " + std::to_string(min));
    return v;
  };
  const auto direction = [&](size_t i) {
    if (parts.size() <= i) return 0;
    if (parts[i] == "causal") return 1;
    if (parts[i] == "bidirectional") return -1;
    throw bad();
  };
  if ((head == "default" || head.empty()) && parts.size() == 1) {
    m.kind = MaskSpec::Kind::Default;
  } else if (head == "causal" && parts.size() == 1) {
    m.kind = MaskSpec::Kind::Causal;
  } else if (head == "bidirectional" && parts.size() == 1) {
    m.kind = MaskSpec::Kind::Bidirectional;
  } else if (head == "packed" && (parts.size() == 2 || parts.size() == 3)) {
    m.direction = direction(2);
    m.kind = m.direction < 0 ? MaskSpec::Kind::Bidirectional : MaskSpec::Kind::Causal;
    for (const auto& len : split_list(parts[1], what)) m.packed.push_back(count(len, 1));
    if (m.packed.empty()) throw bad();
  } else if (head == "lm-infinite" && (parts.size() == 3 || parts.size() == 4)) {
    m.kind = MaskSpec::Kind::LmInfinite;
    m.n_global = count(parts[1], 0);
    m.local = count(parts[2], 1);
    // The authors' default cap is the local window: a far global key is scored as if at distance L.
    m.limit = parts.size() == 4 ? (parts[3] == "none" ? 0 : count(parts[3], m.local)) : m.local;
  } else if (head == "window" && (parts.size() == 2 || parts.size() == 3)) {
    m.kind = MaskSpec::Kind::Window;
    m.window = count(parts[1], 1);
    m.direction = direction(2);
  } else {
    throw bad();
  }
  return m;
}

}  // namespace ps::spec
