#pragma once
// Attention over a concatenated batch ([T, heads, head_dim], sequences back to back): each sequence
// attends over its own tokens only, so no query ever scores a key of another sequence, nothing is padded,
// and the dense layers around it run on [T, d]. Tasks (sequence × head range) run in parallel, each
// single-threaded, which beats one multi-threaded GEMM per tiny matrix by a wide margin on CPUs.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "models/transformer/masks.h"

namespace ps::models {

// Builds [1, S, S] bool (true = query may attend key) from one sequence's [1, S] segment ids (as masks.h).
using SequenceMask = std::function<at::Tensor(const at::Tensor& seg)>;

struct PackedAttentionPlan {
  struct Task {
    int seq;
    int64_t h0, h1;  // query heads [h0, h1)
  };
  std::vector<int64_t> offsets, lengths;  // each sequence's first row in the flat batch, and its tokens
  // Per sequence, true = masked out: [1, len, len] dense, or for a banded (LM-Infinite) sequence the
  // [1, nb, L, G'+2L] mask of detail/lambda_attention.h.
  std::vector<at::Tensor> blocked;
  std::vector<bool> banded;
  std::optional<LmInfinite> lm_infinite;
  std::vector<Task> tasks;                // costliest first
  int64_t total = 0;                      // T
  // Pattern rows returned per sequence: queries [first_row, first_row + rows) clipped to the sequence;
  // rows = 0: all. Lets a long input's pattern come back band by band.
  int64_t pattern_first_row = 0, pattern_rows = 0;
  std::pair<int64_t, int64_t> pattern_range(int seq) const;
};

// lm_infinite set: sequences longer than its local window run banded (mask is not called for them, so
// no [len, len] tensor is built); shorter ones run dense and causal, which is what LM-Infinite is there.
PackedAttentionPlan plan_packed_attention(const std::vector<int64_t>& lengths, int64_t heads, const SequenceMask& mask,
                                          at::Device device, const std::optional<LmInfinite>& lm_infinite = std::nullopt);

// q [T,H,hd], k/v [T,Hkv,hd] → context [T, H*hd]. patterns (optional) receives one [H, rows, len] per sequence
// (rows as plan.pattern_range). With plan.lm_infinite, q/k are the ordinary rotated ones and qg/kg the
// global-branch operands (detail/lambda_attention.h: lambda_operands).
at::Tensor packed_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const PackedAttentionPlan& plan, double scale, std::vector<at::Tensor>* patterns,
                            const at::Tensor& qg = {}, const at::Tensor& kg = {});

}  // namespace ps::models
