#pragma once
// The corpus pipeline behind `probescope corpus build`: read inputs -> filter (parse errors, token counts,
// duplicates) -> seeded split -> per-split caps -> ordered output, with a Summary of every count.
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "data/corpus/readers.h"
#include "data/corpus/snippet.h"
#include "data/corpus/split.h"

namespace ps::tok {
class Tokenizer;
}

namespace ps::corpus {

struct FilterOptions {
  // Token limits (0 = off). The unit is the model's subwords, special tokens included (what the model is fed),
  // when a tokenizer is given; otherwise Tree-sitter code tokens (terminals), or whitespace words for "text".
  int64_t max_tokens = 0;
  int64_t min_tokens = 0;
  bool drop_parse_errors = true;  // snippets whose standalone parse is not clean
  bool dedup = true;              // exact duplicates after normalize_code()
};

struct BuildOptions {
  ReadOptions read;
  FilterOptions filter;
  SplitOptions split;
  const tok::Tokenizer* tokenizer = nullptr;       // not owned
  std::function<void(const Problem&)> on_problem;  // each reported skip, as it happens
  std::function<void(const Summary&)> on_progress; // every progress_every snippets read
  int64_t progress_every = 1000;
};

struct BuildResult {
  // Ordered by split (train, valid, test), then by the seeded hash: a deterministic shuffle.
  std::vector<Snippet> snippets;
  Summary summary;
};

// Of duplicates the one with the smallest (id, path) is kept, so the result does not depend on input order.
BuildResult build_corpus(const std::vector<std::string>& inputs, const BuildOptions& opt);

// The filter's token count for one snippet (see FilterOptions); parses when no tokenizer is given.
int64_t count_tokens(const Snippet& s, const tok::Tokenizer* tokenizer);

// CodeSearchNet field names plus "id", "path" and "split".
nlohmann::json to_json(const Snippet& s);
// Written atomically (a temporary file renamed into place).
void write_jsonl(const std::string& path, const std::vector<Snippet>& snippets);

}  // namespace ps::corpus
