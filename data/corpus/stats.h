#pragma once
// `probescope corpus stats`: what a corpus JSONL holds, as the AST-Probe will see it (parsed, binarized).
#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "data/corpus/snippet.h"

namespace ps::tok {
class Tokenizer;
}

namespace ps::corpus {

struct LanguageStats {
  int64_t snippets = 0;
  std::array<int64_t, 3> splits{};  // train/valid/test ("" or other split values are not counted here)
  int64_t parse_failures = 0;       // not parsed cleanly: left out of the token and label counts
  int64_t code_tokens = 0, max_code_tokens = 0;
  int64_t subwords = 0, max_subwords = 0;  // with a tokenizer (special tokens included)
  std::map<std::string, int64_t> c_labels, u_labels;  // (d,c,u) label frequencies over parsed snippets
};

struct CorpusStats {
  std::map<std::string, LanguageStats> languages;
  Summary read;  // reading problems (bad lines etc.)
  std::string format(size_t top_labels = 15) const;
};

CorpusStats corpus_stats(const std::string& jsonl_path, const tok::Tokenizer* tokenizer,
                         const std::function<void(const Problem&)>& on_problem = {});

}  // namespace ps::corpus
