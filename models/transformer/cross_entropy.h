#pragma once
// The language-model loss in one fused CPU pass: log-sum-exp, the target's logit and (when training) the
// gradient softmax − onehot, straight from float32 or bfloat16 logits. LibTorch 1.13's path (an fp32 copy,
// log_softmax, nll and their backward) was 25% of a bf16 GPT-2 training step with a 4k vocabulary.
#include <ATen/core/Tensor.h>

namespace ps::models {

// Σ over rows r with targets[r] != ignore_index of −log softmax(logits[r])[targets[r]]: a float32 scalar, the
// same value as at::cross_entropy_loss(logits.to(kFloat), targets, {}, Sum, ignore_index) to fp32 rounding.
// logits [N, V], targets [N] int64. Differentiable with respect to logits (first order): the gradient is
// computed in the forward, in the logits' dtype, and scaled in the backward. Non-CPU, non-float/bf16 inputs or
// CPUs without AVX2+FMA go through LibTorch. A target outside [0, V) is an error naming it.
at::Tensor cross_entropy_sum(const at::Tensor& logits, const at::Tensor& targets, int64_t ignore_index = -100);

}  // namespace ps::models
