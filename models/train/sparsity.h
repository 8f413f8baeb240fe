#pragma once
// SPDF, sparse pre-training then dense (Thangarasa et al., arXiv 2303.10464; Cerebras modelzoo's static
// sparsity configs): at initialisation one random mask per attention and MLP matrix of every block (equal
// sparsity s in each, exactly round(s * numel) zeros: random scores + top-k, models/intervene/prune.h),
// drawn from the run seed on its own generator; embeddings, norms, biases and the LM head stay dense. While
// sparse, gradients are masked before clipping and the AdamW moments and weights after each step, so the
// pruned weights stay exactly 0 (momentum and decoupled decay cannot resurrect them). At --sparse-until the
// mask is dropped: the zeroed weights (with zero moments) train from there, the rest keeps its state.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "models/config/arch.h"

namespace ps::train {

inline constexpr const char* kSparsityMaskFile = "sparsity_mask.safetensors";  // in checkpoints while sparse

class StaticMask {
 public:
  StaticMask() = default;
  // Masks for every block attention/MLP matrix among params (canonical keys, Transformer::parameters()).
  static StaticMask draw(const std::map<std::string, at::Tensor>& params, double sparsity, uint64_t seed);
  // InputError naming path when a mask is missing, has another shape or is not 0/1.
  static StaticMask load(const std::string& path, const std::map<std::string, at::Tensor>& params);
  void save(const std::string& path) const;  // uint8 tensors named by key

  bool empty() const { return masks_.empty(); }
  const std::map<std::string, at::Tensor>& masks() const { return masks_; }  // float32 0/1
  void apply_to(const std::map<std::string, at::Tensor>& params) const;     // p *= mask (in place, no grad)
  void mask_grads(const std::map<std::string, at::Tensor>& params) const;   // p.grad *= mask
  // AdamW::state() tensors ("exp_avg.<key>", "exp_avg_sq.<key>"; they share storage with the optimizer).
  void mask_moments(const std::map<std::string, at::Tensor>& optimizer_state) const;
  int64_t masked_numel() const;  // elements of the masked tensors
  int64_t pruned() const;        // zeros of the masks

 private:
  std::map<std::string, at::Tensor> masks_;
};

// Training FLOPs per token (forward 2 per multiply-add, backward twice the forward): the maskable matmuls
// (block attention/MLP weights), the other matmuls (the readout over the vocabulary, BERT's MLM dense; the
// input embedding lookup costs none) and the attention scores (QK^T and AV over the full ctx x ctx, which
// the dense kernels compute: 4 ctx d_model per layer and token forward).
struct FlopsPerToken {
  double maskable = 0, other_matmul = 0, attention = 0;
  double total(double density) const { return density * maskable + other_matmul + attention; }
};
FlopsPerToken training_flops_per_token(const models::ArchSpec& arch, int64_t ctx,
                                       const std::map<std::string, at::Tensor>& params);

// The run's FLOPs beside its dense twin (same steps and tokens): sparse_steps at density 1 - s, the rest
// dense. Saved FLOPs as a share of the maskable matmuls and of the total.
nlohmann::json flops_report(const FlopsPerToken& f, double sparsity, int64_t sparse_steps, int64_t steps,
                            int64_t tokens_per_step);

}  // namespace ps::train
