#pragma once
// The attention softmax of the per-sequence path in one pass: scale, mask, fp32 softmax, and the cast back
// to the compute dtype. LibTorch 1.13 spent five ops and two dtype copies on it (to fp32, mul_, masked_fill_,
// softmax, to bf16), ~20% of a bf16 GPT-2 forward.
#include <ATen/core/Tensor.h>

namespace ps::models {

// True if masked_softmax can run: CPU, contiguous, scores float32 or bfloat16 [h, n, m], blocked bool
// [1, n, m] contiguous, AVX2+FMA.
bool masked_softmax_applies(const at::Tensor& scores, const at::Tensor& blocked);
// softmax(float(scores) * scale with blocked entries at the lowest finite float, dim -1), in scores' dtype:
// the same values as the LibTorch sequence above (blocked entries exactly 0; a row with every entry blocked
// comes out uniform, as there).
at::Tensor masked_softmax(const at::Tensor& scores, const at::Tensor& blocked, double scale);

}  // namespace ps::models
