#pragma once
// extract --context-prefix N: exactly N tokens of *other* text before each function, so the probed words sit
// at positions N..N+len-1 (beyond the training length when N is large) and long-context interventions can be
// measured on syntax. The forward runs on prefix + function; only the function's states are stored.
//
// The scheme ("others-same-split-v1"), deterministic and independent of sharding, --limit and resume:
// the pool is every corpus record that passes --language and --splits, grouped by split; each split's records
// are put in one seeded order (Fisher-Yates over mt19937_64(seed), as `eval ppl` orders its documents).
// For a function at place i of its split's order, the others o1, o2, ... are the records at i+1, i+2, ...
// (cyclically, the function itself skipped, repeating when the others are short). Each is tokenized without
// special tokens, and the prefix is the last N tokens of "... o3 SEP o2 SEP o1 SEP", so the function starts
// right after a separator, as a new document does in a pre-training stream. Only raw `code` is used (comments
// kept: it is context, not probed). The function's own ids (special tokens included) follow unchanged.
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "models/config/arch.h"
#include "models/tokenizer/tokenizer.h"

namespace ps::extract {

inline constexpr const char* kContextPrefixScheme = "others-same-split-v1";

// The token that joins functions: config.json's eos_token_id, else <|endoftext|> or </s> (the rule `eval ppl`
// uses). InputError naming the tokenizer when there is none.
int32_t separator_token(const tok::Tokenizer& tokenizer, const models::ArchSpec& arch, const std::string& tokenizer_path);

class ContextPrefix {
 public:
  // Reads the pool from corpus (records passing language, "any" = all, and splits, "" = all). InputError when
  // tokens < 1.
  ContextPrefix(const std::string& corpus, const std::string& language, const std::string& splits, int64_t tokens,
                uint64_t seed, int32_t separator, const tok::Tokenizer& tokenizer);

  // The prefix of corpus record `source_index` (0-based, as extract counts records): exactly tokens() ids.
  // InputError when its split has no other record. Not thread-safe (it caches tokenizations).
  std::vector<int32_t> before(int64_t source_index) const;

  int64_t tokens() const { return tokens_; }

 private:
  struct Split {
    std::vector<int64_t> order;  // records in the seeded order
  };
  const std::vector<int32_t>& ids_of(int64_t record) const;

  int64_t tokens_;
  int32_t separator_;
  const tok::Tokenizer& tokenizer_;
  std::string corpus_;
  std::map<std::string, Split> splits_;
  std::unordered_map<int64_t, std::pair<std::string, size_t>> place_;  // record → (split, place in its order)
  mutable std::unordered_map<int64_t, std::string> code_;            // until tokenized
  mutable std::unordered_map<int64_t, std::vector<int32_t>> ids_;
};

}  // namespace ps::extract
