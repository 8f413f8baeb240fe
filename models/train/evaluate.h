#pragma once
// Validation of a causal LM (or a masked LM): mean next-token (masked-token) loss / perplexity on packed validation rows, next to the
// unigram baseline (train token frequencies, add-one smoothed) on exactly the same targets.
#include <cstdint>
#include <vector>

#include "models/train/lm_data.h"
#include "models/transformer/transformer.h"

namespace ps::train {

// Scoped bf16 autocast on CPU (no-op when off); restores the previous state.
class AutocastBf16 {
 public:
  explicit AutocastBf16(bool on);
  ~AutocastBf16();
  AutocastBf16(const AutocastBf16&) = delete;
  AutocastBf16& operator=(const AutocastBf16&) = delete;

 private:
  bool on_, prev_ = false;
};

// -log p(t) for every token t, p(t) = (count(t) + 1) / (N + V).
std::vector<double> unigram_nll(const std::vector<int64_t>& counts);

struct EvalResult {
  double loss = 0, unigram_loss = 0;  // mean nats per target token
  int64_t tokens = 0;                 // targets scored
  double ppl() const;
  double unigram_ppl() const;
};

// Scores validation rows from the start until at least max_tokens targets (0 = all rows), rows_per_batch
// rows per forward. With mlm: the rows are masked (mlm_rows with mask_seed) and scored on the masked
// positions only (masked-token perplexity; the unigram baseline on the same targets), and max_tokens
// counts input tokens.
EvalResult evaluate(const models::Transformer& model, PackedData& valid, const std::vector<double>& unigram,
                    int64_t max_tokens, int64_t rows_per_batch, bool bf16, const MlmMasking* mlm = nullptr,
                    uint64_t mask_seed = 0);

}  // namespace ps::train
