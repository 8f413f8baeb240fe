#pragma once
// Causal-LM training data: tokenized documents packed into fixed-length rows.
//
// Packing rule: each document is followed by one EOS token (the separator; it also teaches the model to
// end a function). An epoch is the concatenation of all documents (+EOS) in an order drawn from
// (seed, epoch); it is cut into consecutive rows of `ctx` inputs, whose targets are the next tokens
// (rows overlap by one token, so every token but the epoch's first is a target once). The epoch's tail that
// does not fill a row is dropped (< ctx tokens). Inside a row a token attends only to earlier tokens of
// its own document (block-diagonal causal mask) and positions restart at 0 where a document starts (or a
// long document continues into a new row), so training sees what extraction feeds the model: one function
// from position 0. The EOS after a document predicts the first token of the next one.
//
// Data order (what makes a resumed run identical): global row g = step * rows_per_step + i lies in epoch
// g / rows_per_epoch at row g % rows_per_epoch, and an epoch's document order is a Fisher-Yates shuffle
// driven by splitmix64(seed, epoch). So the position in the data is a pure function of the step.
//
// Masked LM (mlm_rows): the same rows, each input token its own (no next-token targets); attention is
// bidirectional inside each document (block-diagonal, not causal). Which positions are masked, and how,
// is a hash of (seed, global row, position): a function of the step again, so resume stays exact, and a
// later epoch masks the same text differently (RoBERTa's dynamic masking).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace ps::train {

struct LmBatch {
  at::Tensor input_ids;     // [B,S] int64
  at::Tensor targets;       // [B,S] int64, -100 = no target (validation padding)
  at::Tensor position_ids;  // [B,S] int64
  at::Tensor attn_mask;     // [B,S,S] bool, block-diagonal causal
  int64_t n_targets = 0;
};

// Deterministic permutation of 0..n-1 for (seed, epoch); identical on every platform.
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch);

// BERT/RoBERTa masking: each eligible position is selected with probability `prob`; a selected token is
// replaced by mask_id with probability p_mask, by a token drawn uniformly from [0, vocab_size) with
// probability p_random, and kept otherwise (80/10/10 by default), and becomes a target. Eligible: a real
// token (not validation padding) that is not in never_mask (the separator and other special tokens).
struct MlmMasking {
  int32_t mask_id = -1;
  int64_t vocab_size = 0;
  std::vector<int32_t> never_mask;
  double prob = 0.15, p_mask = 0.8, p_random = 0.1;
};

// Masked-LM version of packed rows [first, first + n) (from train_rows or eval_batch): input_ids masked,
// targets = the original token at selected positions and -100 elsewhere, attn_mask bidirectional per
// document, n_targets = selected positions. Deterministic in (seed, first + i, position).
LmBatch mlm_rows(const LmBatch& rows, const MlmMasking& m, uint64_t seed, int64_t first);

class PackedData {
 public:
  // docs: token ids without separators; empty documents are dropped. ctx >= 1.
  PackedData(std::vector<std::vector<int32_t>> docs, int32_t eos_id, int64_t ctx);

  int64_t ctx() const { return ctx_; }
  int64_t documents() const { return int64_t(docs_.size()); }
  int64_t tokens_per_epoch() const { return tokens_; }  // documents + one EOS each
  // Training rows per epoch (full rows only).
  int64_t rows_per_epoch() const { return tokens_ > 0 ? (tokens_ - 1) / ctx_ : 0; }
  // Rows [first, first + n) of the endless shuffled stream.
  LmBatch train_rows(uint64_t seed, int64_t first, int64_t n);
  // Validation: documents in the given order, no shuffle; the last row is padded (targets -100).
  int64_t eval_rows() const { return tokens_ > 1 ? (tokens_ - 2) / ctx_ + 1 : 0; }
  LmBatch eval_batch(int64_t first, int64_t n);
  // Occurrences of each token id in one epoch (documents and separators), for the unigram baseline.
  std::vector<int64_t> token_counts(int64_t vocab_size) const;

 private:
  void build_stream(const std::vector<int64_t>& order);

  std::vector<std::vector<int32_t>> docs_;
  int32_t eos_;
  int64_t ctx_, tokens_ = 0;
  int64_t cached_epoch_ = -2;   // epoch whose stream is built (-1 = corpus order)
  uint64_t cached_seed_ = 0;
  std::vector<int32_t> stream_, segment_;  // token ids and document index per stream position
};

}  // namespace ps::train
