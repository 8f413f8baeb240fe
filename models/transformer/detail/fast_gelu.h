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

}  // namespace ps::models
