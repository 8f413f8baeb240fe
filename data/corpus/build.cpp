#include <algorithm>
#include <sstream>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "data/corpus/build.h"
#include "data/syntax/parse.h"
#include "models/tokenizer/tokenizer.h"
#include "models/util/files.h"

namespace ps::corpus {

namespace {

int64_t count_words(const std::string& text) {
  std::istringstream in(text);
  std::string w;
  int64_t n = 0;
  while (in >> w) ++n;
  return n;
}

struct Candidate {
  Snippet snippet;
  uint64_t key = 0;
};

bool before(const Snippet& a, const Snippet& b) {
  return a.id != b.id ? a.id < b.id : a.path < b.path;
}

}  // namespace

int64_t count_tokens(const Snippet& s, const tok::Tokenizer* tokenizer) {
  if (tokenizer) return static_cast<int64_t>(tokenizer->encode(s.code, true).ids.size());
  if (s.language == "text") return count_words(s.code);
  auto r = syntax::try_parse(s.code, syntax::language_from_name(s.language));
  return static_cast<int64_t>(r.tree.terminals().size());
}

BuildResult build_corpus(const std::vector<std::string>& inputs, const BuildOptions& opt) {
  BuildResult res;
  Summary& sum = res.summary;
  Reporter rep(sum, opt.on_problem);
  std::vector<Candidate> kept;
  std::unordered_map<uint64_t, std::vector<size_t>> by_hash;  // normalized-code hash -> indices in kept
  const uint64_t kDedupSeed = 0x5eed;

  auto sink = [&](Snippet&& s) {
    const std::string& lang = s.language;
    if (opt.on_progress && opt.progress_every > 0 && sum.snippets_read % opt.progress_every == 0)
      opt.on_progress(sum);
    int64_t n_tokens = -1;
    if (lang != "text") {
      syntax::ParseOptions po;
      po.source_name = s.id;
      po.max_bytes = std::max<size_t>(po.max_bytes, opt.read.max_file_bytes);
      auto r = syntax::try_parse(s.code, syntax::language_from_name(lang), po);
      if (!r.ok() && opt.filter.drop_parse_errors) {
        std::string msg = r.message;
        // try_parse already prefixes "source: "; keep one "where: problem".
        if (msg.rfind(s.id + ": ", 0) == 0) msg = msg.substr(s.id.size() + 2);
        rep.skip(SkipReason::ParseError, lang, s.id, msg);
        return;
      }
      if (!opt.tokenizer) n_tokens = static_cast<int64_t>(r.tree.terminals().size());
    }
    if ((opt.filter.max_tokens > 0 || opt.filter.min_tokens > 0) && n_tokens < 0) n_tokens = count_tokens(s, opt.tokenizer);
    if (opt.filter.max_tokens > 0 && n_tokens > opt.filter.max_tokens) {
      rep.skip(SkipReason::TooManyTokens, lang, s.id, std::to_string(n_tokens) + " tokens", true);
      return;
    }
    if (opt.filter.min_tokens > 0 && n_tokens < opt.filter.min_tokens) {
      rep.skip(SkipReason::TooFewTokens, lang, s.id, std::to_string(n_tokens) + " tokens", true);
      return;
    }
    std::string norm = normalize_code(s.code);
    if (opt.filter.dedup) {
      auto& slots = by_hash[hash64(norm, kDedupSeed)];
      for (size_t idx : slots) {
        Snippet& other = kept[idx].snippet;
        if (normalize_code(other.code) != norm) continue;  // a hash collision, not a duplicate
        if (before(s, other)) {
          rep.skip(SkipReason::Duplicate, other.language, other.id, "duplicate of " + s.id, true);
          other = std::move(s);
        } else {
          rep.skip(SkipReason::Duplicate, lang, s.id, "duplicate of " + other.id, true);
        }
        return;
      }
      slots.push_back(kept.size());
    }
    kept.push_back(Candidate{std::move(s), 0});
  };
  for (const auto& in : inputs) read_input(in, opt.read, rep, sink);

  // Split and cap: everything below depends only on the kept set, not on the order it was read in.
  const auto fractions = opt.split.fractions;
  for (auto& c : kept)
    c.key = hash64(opt.split.key == SplitKey::Content ? normalize_code(c.snippet.code) : c.snippet.id, opt.split.seed);
  std::array<std::vector<Candidate*>, 3> by_split;
  for (auto& c : kept) by_split[split_for_hash(c.key, fractions)].push_back(&c);
  for (int sp = 0; sp < 3; ++sp) {
    auto& v = by_split[sp];
    std::sort(v.begin(), v.end(), [](const Candidate* a, const Candidate* b) {
      return a->key != b->key ? a->key < b->key : before(a->snippet, b->snippet);
    });
    int64_t cap = opt.split.max_count[sp];
    for (size_t i = 0; i < v.size(); ++i) {
      Snippet& s = v[i]->snippet;
      if (cap >= 0 && static_cast<int64_t>(i) >= cap) {
        rep.skip(SkipReason::OverCap, s.language, s.id, std::string("beyond --max-") + kSplitNames[sp], true);
        continue;
      }
      s.split = kSplitNames[sp];
      auto& lc = sum.languages[s.language];
      ++lc.kept;
      ++lc.splits[sp];
      ++sum.kept;
      ++sum.splits[sp];
      res.snippets.push_back(std::move(s));
    }
  }
  return res;
}

nlohmann::json to_json(const Snippet& s) {
  nlohmann::json j;
  j["id"] = s.id;
  j["language"] = s.language;
  j["func_name"] = s.func_name;
  j["code"] = s.code;
  j["url"] = s.url;
  j["path"] = s.path;
  j["split"] = s.split;
  return j;
}

void write_jsonl(const std::string& path, const std::vector<Snippet>& snippets) {
  std::string out;
  for (const auto& s : snippets) {
    // Inputs were validated as UTF-8; replace keeps a writer error impossible even so.
    out += to_json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += '\n';
  }
  write_file_atomic(path, out);
}

}  // namespace ps::corpus
