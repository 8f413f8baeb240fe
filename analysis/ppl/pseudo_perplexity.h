#pragma once
// Pseudo-perplexity of a masked-LM encoder (Salazar et al., ACL 2020): every scored token of a held-out
// function is masked in its own copy of the function, and PPPL = exp(mean over tokens of −log p(token |
// the rest)). Causal perplexity (perplexity.h) has no meaning for an encoder; this is the number that
// compares an encoder with its compressed variants. The functions are those of one split in a seeded
// order, each encoded with the tokenizer's special tokens (<s> … </s>, never scored) and cut to `context`
// tokens, so the score does not depend on batching.
//
// Resumable like eval ppl: after each batch of functions the sums are saved atomically in
// out_dir/pppl_state.json and summary.json is rewritten; a rerun with other parameters is refused.
#include <cstdint>
#include <string>

#include "models/transformer/engine.h"
#include "models/util/progress.h"

namespace ps::ppl {

struct PseudoPplOptions {
  std::string model_dir;
  std::string corpus;              // JSONL with "code", "language", "split"
  std::string split = "test";
  std::string language;            // "" = every language in the split
  int64_t functions = 64;          // score at most this many functions (0 = all)
  int64_t context = 128;           // tokens per function, special tokens included (≤ the model's positions)
  uint64_t seed = 0;               // order of the functions
  std::string mask_token;          // "" = <mask>, else [MASK]
  models::EngineOptions engine;
  std::string out_dir;             // required: pppl_state.json, summary.json
  int64_t stop_after = 0;          // stop (resumably) after this many new functions; 0 = to the end
};

struct PseudoPplResult {
  int64_t functions_total = 0, functions_done = 0;
  int64_t tokens = 0;  // scored (masked) tokens
  double nll = 0;      // summed nats
  double pppl() const;
  bool complete() const { return functions_done == functions_total; }
};

// InputError (one line) for: a causal model, no MLM head, no mask token, a missing corpus or empty split,
// context < 3 or beyond the model's positions, a conflicting earlier run in out_dir.
PseudoPplResult evaluate_pseudo_perplexity(const PseudoPplOptions& options, Progress* progress = nullptr);

// −log p(ids[p] | ids with position p masked) for every p with scored[p], from one forward per masked copy.
// Exposed for tests; the batch is bounded by the engine's token budget.
std::vector<double> masked_token_nll(const models::Engine& engine, const std::vector<int32_t>& ids,
                                     const std::vector<uint8_t>& scored, int32_t mask_id);

}  // namespace ps::ppl
