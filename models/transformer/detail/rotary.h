#pragma once
// Rotary position embeddings as Hugging Face's LLaMA computes them (rotate_half convention), from
// explicit position_ids so packed sequences with restarted positions rotate exactly as alone.
#include <ATen/core/Tensor.h>

#include <utility>

#include "models/config/arch.h"

namespace ps::models {

// inv_freq [head_dim/2] float32 for the arch, after linear / dynamic-NTK / llama3 scaling.
// seq_len matters only for dynamic NTK (HF uses max(position_ids)+1 of the batch).
at::Tensor rope_inv_freq(const ArchSpec& arch, int64_t seq_len);

// cos, sin as [..., head_dim] in `dtype` for position_ids [...] ([B,S] padded, [T] concatenated).
std::pair<at::Tensor, at::Tensor> rope_cos_sin(const ArchSpec& arch, const at::Tensor& position_ids,
                                               at::ScalarType dtype);

// x [..., H, hd] (token-major, before heads move forward) rotated: x*cos + rotate_half(x)*sin, cos/sin [..., hd].
at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

}  // namespace ps::models
