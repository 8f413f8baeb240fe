#pragma once
// GELU with the tanh approximation (GPT-2's gelu_new) in one pass over float32 or bfloat16 CPU memory.
// LibTorch 1.13's kernel costs ~75 ms per [4096, 3072] bf16 tensor on 2 cores, half the time of the
// surrounding matmuls; this one computes x·σ(2z) (= HF's 0.5x(1 + tanh z)) with AVX2/FMA in fp32.
#include <ATen/core/Tensor.h>

namespace ps::models {

// True if x can go through gelu_tanh_fast: CPU, contiguous, float32 or bfloat16, no autograd, AVX2+FMA.
bool gelu_tanh_fast_applies(const at::Tensor& x);
// Same values as at::gelu(x, "tanh") to ~1e-6 relative (bf16 results to one rounding step); a new tensor.
at::Tensor gelu_tanh_fast(const at::Tensor& x);
// grad · d/dx gelu_tanh(x), computed in fp32 (bf16 in and out for bf16); same shape and dtype, contiguous.
at::Tensor gelu_tanh_backward_fast(const at::Tensor& grad, const at::Tensor& x);
// at::gelu(x, "tanh") with both passes through the kernels above where they apply (training: LibTorch 1.13's
// bf16 gelu_backward was 17% of a GPT-2 training step), else LibTorch's. Differentiable once.
at::Tensor gelu_tanh(const at::Tensor& x);

}  // namespace ps::models
