#pragma once
// Rotary embedding applied in one pass per row, with its own backward. Under autograd LibTorch ran
// x*cos + cat(-x2, x1)*sin as six elementwise ops and about ten more in backward, each a full pass over q or k
// with a bf16 -> fp32 promotion; in bf16 LLaMA training that was a visible share of the step.
#include <ATen/core/Tensor.h>

namespace ps::models {

// True if rope_fused can run: CPU, x [..., H, hd] with even hd, cos and sin [..., hd] with x's leading shape
// (or broadcastable to it), all float32 or bfloat16, AVX2+FMA.
bool rope_fused_applies(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

// x*cos + rotate_half(x)*sin (cos/sin broadcast over heads), computed in fp32 and differentiable in x. The
// result has the promoted dtype of x, cos and sin, as the unfused expression, except under CPU bf16 autocast
// with bf16 x: then bf16, the dtype the attention matmul casts it to next anyway (the same single rounding).
at::Tensor rope_fused(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

}  // namespace ps::models
