// Boundary alignment: one encoding per (gap + word) piece, concatenated; and the tokenizer.json twin it needs.
#include "data/align/boundary.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "models/util/error.h"

namespace ps::align {

using nlohmann::json;

namespace {

json parse(const std::string& text, const std::string& source) {
  try {
    json j = json::parse(text);
    if (j.is_object()) return j;
  } catch (const json::exception&) {
  }
  throw InputError(where(source, "not a tokenizer.json object"));
}

std::string type_of(const json& j) { return j.is_object() && j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>() : ""; }

// Visits a component and, for a Sequence, its members (pre-tokenizers: "pretokenizers"; normalizers: "normalizers").
template <class F>
void each(json& j, const char* members, F&& f) {
  if (type_of(j) == "Sequence" && j.contains(members) && j[members].is_array()) {
    for (auto& m : j[members]) each(m, members, f);
    return;
  }
  f(j);
}

bool replaces_space_with_metaspace(const json& n) {
  if (type_of(n) != "Replace" || !n.contains("pattern") || !n["pattern"].is_object()) return false;
  const auto& p = n["pattern"];
  return p.contains("String") && p["String"] == " " && n.value("content", "") == "\xE2\x96\x81";
}

}  // namespace

TokenizerTraits tokenizer_traits(const std::string& text, const std::string& source) {
  json j = parse(text, source);
  TokenizerTraits t;
  if (j.contains("pre_tokenizer"))
    each(j["pre_tokenizer"], "pretokenizers", [&](json& p) {
      t.byte_level |= type_of(p) == "ByteLevel";
      t.metaspace |= type_of(p) == "Metaspace";
    });
  if (j.contains("normalizer"))
    each(j["normalizer"], "normalizers", [&](json& n) { t.metaspace |= replaces_space_with_metaspace(n); });
  return t;
}

Mode default_mode(const TokenizerTraits& t) { return t.byte_level || t.metaspace ? Mode::Boundary : Mode::Offsets; }

Mode resolve_mode(const std::string& name, const TokenizerTraits& t) {
  return name == "auto" ? default_mode(t) : mode_from_name(name);
}

tok::Tokenizer continuation_tokenizer(const std::string& text, const std::string& source) {
  json j = parse(text, source);
  if (j.contains("pre_tokenizer"))
    each(j["pre_tokenizer"], "pretokenizers", [](json& p) {
      if (type_of(p) == "ByteLevel") p["add_prefix_space"] = false;
      if (type_of(p) == "Metaspace") p["add_prefix_space"] = false, p["prepend_scheme"] = "never";
    });
  if (j.contains("normalizer") && j["normalizer"].is_object()) {
    // Prepend, Append and Strip act on the ends of the whole text: a piece in the middle gets none of them.
    const auto drop = [](const json& n) { const auto t = type_of(n); return t == "Prepend" || t == "Append" || t == "Strip"; };
    json& n = j["normalizer"];
    if (drop(n)) {
      n = nullptr;
    } else if (type_of(n) == "Sequence" && n.contains("normalizers") && n["normalizers"].is_array()) {
      json kept = json::array();
      for (auto& m : n["normalizers"])
        if (!drop(m)) kept.push_back(m);
      n["normalizers"] = kept;
    }
  }
  return tok::Tokenizer::from_json(j.dump(), source + " (continuation pieces)");
}

std::string read_tokenizer_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(where(path, "cannot open tokenizer file"));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Alignment align_boundary(const tok::Tokenizer& tokenizer, const tok::Tokenizer& continuation, const std::string& code,
                         const std::vector<Span>& word_spans, bool add_special_tokens) {
  const int64_t len = int64_t(code.size());
  int64_t prev = 0;
  for (size_t w = 0; w < word_spans.size(); ++w) {
    const auto [a, z] = word_spans[w];
    if (a < prev || z < a || z > len)
      throw InputError("align: word " + std::to_string(w) + " span [" + std::to_string(a) + ", " + std::to_string(z) +
                       ") is outside the text of " + std::to_string(len) +
                       " bytes or overlaps the word before it (boundary mode needs ascending, disjoint words)");
    prev = z;
  }
  // Pieces: [end of word w-1, end of word w) for every word, then the tail after the last word.
  std::vector<Span> pieces;
  prev = 0;
  for (const auto& [a, z] : word_spans) {
    if (z > prev || pieces.empty()) pieces.emplace_back(prev, z);
    prev = z;
  }
  if (prev < len || pieces.empty()) pieces.emplace_back(prev, len);

  tok::Encoding out, tail;
  auto append = [&](tok::Encoding& dst, const tok::Encoding& e, size_t from, size_t to, int64_t shift) {
    for (size_t i = from; i < to; ++i) {
      dst.ids.push_back(e.ids[i]);
      dst.tokens.push_back(e.tokens[i]);
      const bool special = i < e.special_mask.size() && e.special_mask[i];
      dst.offsets.emplace_back(special ? e.offsets[i] : std::pair{e.offsets[i].first + shift, e.offsets[i].second + shift});
      dst.special_mask.push_back(special ? 1 : 0);
    }
  };
  for (size_t k = 0; k < pieces.size(); ++k) {
    const auto [b, e] = pieces[k];
    const std::string piece = code.substr(size_t(b), size_t(e - b));
    if (k > 0) {
      if (piece.empty()) continue;
      const tok::Encoding enc = continuation.encode(piece, false);
      append(out, enc, 0, enc.ids.size(), b);
      continue;
    }
    // The first piece starts the text: the real tokenizer (prefix rules on) with the post-processor's
    // specials; those before its first content token lead the sequence, the rest end it.
    tok::Encoding first = tokenizer.encode(piece, add_special_tokens);
    size_t lead = 0, n = first.ids.size();
    auto is_special = [&](const tok::Encoding& x, size_t i) { return i < x.special_mask.size() && x.special_mask[i]; };
    while (lead < n && is_special(first, lead)) ++lead;
    if (lead == n) {
      // No content token to split at: learn how many specials lead from a one-letter text.
      const tok::Encoding probe = tokenizer.encode("a", add_special_tokens);
      size_t pl = 0;
      while (pl < probe.ids.size() && is_special(probe, pl)) ++pl;
      lead = std::min(pl, n);
    }
    size_t trail = n;
    while (trail > lead && is_special(first, trail - 1)) --trail;
    append(out, first, 0, trail, b);
    append(tail, first, trail, n, b);
  }
  append(out, tail, 0, tail.ids.size(), 0);
  return align_spans(code, word_spans, std::move(out));
}

}  // namespace ps::align
