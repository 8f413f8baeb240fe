#include <iomanip>
#include <sstream>

#include <nlohmann/json.hpp>

#include "data/corpus/snippet.h"

namespace ps::corpus {

const char* reason_name(SkipReason r) {
  switch (r) {
    case SkipReason::Unreadable: return "unreadable";
    case SkipReason::Empty: return "empty";
    case SkipReason::Binary: return "binary";
    case SkipReason::BadUtf8: return "bad_utf8";
    case SkipReason::TooLarge: return "too_large";
    case SkipReason::LongLine: return "long_line";
    case SkipReason::Unsupported: return "unsupported";
    case SkipReason::Excluded: return "excluded";
    case SkipReason::BadJson: return "bad_json";
    case SkipReason::NoFunctions: return "no_functions";
    case SkipReason::ParseError: return "parse_error";
    case SkipReason::TooManyTokens: return "too_many_tokens";
    case SkipReason::TooFewTokens: return "too_few_tokens";
    case SkipReason::Duplicate: return "duplicate";
    case SkipReason::OverCap: return "over_cap";
  }
  return "?";
}

void Reporter::skip(SkipReason r, const std::string& language, const std::string& where,
                    const std::string& problem, bool quiet) {
  ++summary_.skipped[r];
  ++summary_.languages[language].skipped[r];
  if (quiet) return;
  Problem p{r, where, where + ": " + problem};
  if (sink_) sink_(p);
  if (summary_.problems.size() < summary_.max_problems)
    summary_.problems.push_back(std::move(p));
  else
    ++summary_.problems_dropped;
}

int64_t Summary::skipped_total() const {
  int64_t n = 0;
  for (const auto& [r, c] : skipped) n += c;
  return n;
}

std::string Summary::skip_digest() const {
  if (skipped_total() == 0) return "";
  std::ostringstream o;
  o << "skipped " << skipped_total() << " (";
  bool first = true;
  for (const auto& [reason, n] : skipped) {
    if (n == 0) continue;
    o << (first ? "" : ", ") << reason_name(reason) << " " << n;
    first = false;
  }
  o << ")";
  if (!problems.empty()) o << "; first: " << problems.front().message;
  return o.str();
}

std::string Summary::format() const {
  static const char* kSplits[3] = {"train", "valid", "test"};
  std::ostringstream o;
  o << "files seen: " << files_seen << "  snippets read: " << snippets_read << "  kept: " << kept
    << "  (train " << splits[0] << ", valid " << splits[1] << ", test " << splits[2] << ")\n";
  o << std::left << std::setw(12) << "language" << std::right << std::setw(9) << "files" << std::setw(10)
    << "read" << std::setw(10) << "kept";
  for (const char* s : kSplits) o << std::setw(9) << s;
  o << "  skipped\n";
  for (const auto& [lang, c] : languages) {
    o << std::left << std::setw(12) << (lang.empty() ? "(unknown)" : lang) << std::right << std::setw(9)
      << c.files << std::setw(10) << c.read << std::setw(10) << c.kept;
    for (int64_t n : c.splits) o << std::setw(9) << n;
    o << " ";
    for (const auto& [r, n] : c.skipped) o << " " << reason_name(r) << "=" << n;
    o << "\n";
  }
  o << "skipped:";
  if (skipped.empty()) o << " none";
  for (const auto& [r, n] : skipped) o << " " << reason_name(r) << "=" << n;
  o << "\n";
  if (problems_dropped > 0) o << "(" << problems_dropped << " more problems not listed)\n";
  return o.str();
}

nlohmann::json Summary::to_json() const {
  nlohmann::json j;
  j["files_seen"] = files_seen;
  j["snippets_read"] = snippets_read;
  j["kept"] = kept;
  j["splits"] = {{"train", splits[0]}, {"valid", splits[1]}, {"test", splits[2]}};
  nlohmann::json sk = nlohmann::json::object();
  for (const auto& [r, n] : skipped) sk[reason_name(r)] = n;
  j["skipped"] = sk;
  nlohmann::json langs = nlohmann::json::object();
  for (const auto& [lang, c] : languages) {
    nlohmann::json lj;
    lj["files"] = c.files;
    lj["read"] = c.read;
    lj["kept"] = c.kept;
    lj["splits"] = {{"train", c.splits[0]}, {"valid", c.splits[1]}, {"test", c.splits[2]}};
    nlohmann::json ls = nlohmann::json::object();
    for (const auto& [r, n] : c.skipped) ls[reason_name(r)] = n;
    lj["skipped"] = ls;
    langs[lang.empty() ? "(unknown)" : lang] = lj;
  }
  j["languages"] = langs;
  return j;
}

}  // namespace ps::corpus
