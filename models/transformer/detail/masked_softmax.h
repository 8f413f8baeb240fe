#pragma once
// The attention softmax of the per-sequence path in one pass: scale, mask, fp32 softmax, and the cast back
// to the compute dtype. LibTorch 1.13 spent five ops and two dtype copies on it (to fp32, mul_, masked_fill_,
// softmax, to bf16), ~20% of a bf16 GPT-2 forward.
#include <ATen/core/Tensor.h>

namespace ps::models {

// True if masked_softmax can run: CPU, contiguous, scores float32 or bfloat16 [G, n, m], blocked bool
// [Bm, n, m] contiguous with G a multiple of Bm (scores [B·heads, n, m] read the mask of their batch row),
// AVX2+FMA.
bool masked_softmax_applies(const at::Tensor& scores, const at::Tensor& blocked);
// softmax(float(scores) * scale with blocked entries at the lowest finite float, dim -1), in scores' dtype:
// the same values as the LibTorch sequence above (blocked entries exactly 0; a row with every entry blocked
// comes out uniform, as there).
at::Tensor masked_softmax(const at::Tensor& scores, const at::Tensor& blocked, double scale);
// The same, differentiable in scores (training's padded attention). The backward reads the probabilities the
// forward returned, in their dtype: for bf16 that is the rounded p where LibTorch's chain kept an fp32 copy.
at::Tensor masked_softmax_autograd(const at::Tensor& scores, const at::Tensor& blocked, double scale);

}  // namespace ps::models
