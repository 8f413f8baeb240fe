#include <algorithm>
#include <iomanip>
#include <sstream>
#include <vector>

#include "data/corpus/readers.h"
#include "data/corpus/split.h"
#include "data/corpus/stats.h"
#include "data/syntax/dcu.h"
#include "models/tokenizer/tokenizer.h"

namespace ps::corpus {

CorpusStats corpus_stats(const std::string& jsonl_path, const tok::Tokenizer* tokenizer,
                         const std::function<void(const Problem&)>& on_problem) {
  CorpusStats st;
  Reporter rep(st.read, on_problem);
  ReadOptions ro;
  ro.max_file_bytes = size_t(1) << 62;  // stats describe what is there; no size or line limits
  ro.max_line_bytes = size_t(1) << 62;
  read_jsonl(jsonl_path, ro, rep, [&](Snippet&& s) {
    auto& ls = st.languages[s.language];
    ++ls.snippets;
    for (int i = 0; i < 3; ++i)
      if (s.split == kSplitNames[i]) ++ls.splits[i];
    if (tokenizer) {
      int64_t n = static_cast<int64_t>(tokenizer->encode(s.code, true).ids.size());
      ls.subwords += n;
      ls.max_subwords = std::max(ls.max_subwords, n);
    }
    if (s.language == "text") return;
    syntax::ParseOptions po;
    po.source_name = s.id;
    auto r = syntax::try_parse(s.code, syntax::language_from_name(s.language), po);
    if (!r.ok()) {
      ++ls.parse_failures;
      return;
    }
    syntax::Dcu dcu = syntax::ast_to_dcu(r.tree);
    int64_t n = static_cast<int64_t>(dcu.u.size());
    ls.code_tokens += n;
    ls.max_code_tokens = std::max(ls.max_code_tokens, n);
    for (const auto& c : dcu.c) ++ls.c_labels[c];
    for (const auto& u : dcu.u) ++ls.u_labels[u];
  });
  return st;
}

std::string CorpusStats::format(size_t top_labels) const {
  std::ostringstream o;
  auto top = [&](const std::map<std::string, int64_t>& m, const char* name) {
    std::vector<std::pair<int64_t, std::string>> v;
    for (const auto& [k, n] : m) v.emplace_back(-n, k);
    std::sort(v.begin(), v.end());
    o << "  " << name << " labels: " << m.size() << " distinct; top:";
    for (size_t i = 0; i < v.size() && i < top_labels; ++i) o << " " << v[i].second << "=" << -v[i].first;
    o << "\n";
  };
  for (const auto& [lang, s] : languages) {
    int64_t parsed = s.snippets - s.parse_failures;
    o << lang << ": " << s.snippets << " snippets (train " << s.splits[0] << ", valid " << s.splits[1] << ", test "
      << s.splits[2] << "), parse failures " << s.parse_failures << "\n";
    o << "  code tokens: " << s.code_tokens << " total, mean " << std::fixed << std::setprecision(1)
      << (parsed > 0 ? double(s.code_tokens) / parsed : 0.0) << ", max " << s.max_code_tokens << "\n";
    if (s.subwords > 0)
      o << "  subwords: " << s.subwords << " total, mean " << (s.snippets > 0 ? double(s.subwords) / s.snippets : 0.0)
        << ", max " << s.max_subwords << "\n";
    o.unsetf(std::ios::fixed);
    if (lang != "text") {
      top(s.c_labels, "c");
      top(s.u_labels, "u");
    }
  }
  if (read.skipped_total() > 0) {
    o << "unreadable entries:";
    for (const auto& [r, n] : read.skipped) o << " " << reason_name(r) << "=" << n;
    o << "\n";
  }
  return o.str();
}

}  // namespace ps::corpus
