#pragma once
// Attention over a concatenated batch ([T, heads, head_dim], sequences back to back): each sequence
// attends over its own tokens only, so no query ever scores a key of another sequence, nothing is padded,
// and the dense layers around it run on [T, d]. Tasks (sequence × head range) run in parallel, each
// single-threaded, which beats one multi-threaded GEMM per tiny matrix by a wide margin on CPUs.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace ps::models {

// Builds [1, S, S] bool (true = query may attend key) from one sequence's [1, S] segment ids (as masks.h).
using SequenceMask = std::function<at::Tensor(const at::Tensor& seg)>;

struct PackedAttentionPlan {
  struct Task {
    int seq;
    int64_t h0, h1;  // query heads [h0, h1)
  };
  std::vector<int64_t> offsets, lengths;  // each sequence's first row in the flat batch, and its tokens
  std::vector<at::Tensor> blocked;        // per sequence [1, len, len] bool, true = masked out
  std::vector<Task> tasks;                // costliest first
  int64_t total = 0;                      // T
};

PackedAttentionPlan plan_packed_attention(const std::vector<int64_t>& lengths, int64_t heads, const SequenceMask& mask,
                                          at::Device device);

// q [T,H,hd], k/v [T,Hkv,hd] → context [T, H*hd]. patterns (optional) receives one [H, len, len] per sequence.
at::Tensor packed_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const PackedAttentionPlan& plan, double scale, std::vector<at::Tensor>* patterns);

}  // namespace ps::models
