#pragma once
// SwiGLU's silu(gate) * up in one pass, forward and backward, over float32 or bfloat16 CPU memory (computed in
// fp32, rounded once). LibTorch 1.13 ran silu, its backward and two muls as separate bf16 passes.
#include <ATen/core/Tensor.h>

namespace ps::models {

// at::silu(gate) * up where the kernel applies (CPU, contiguous, same shape and dtype, float32 or bfloat16,
// AVX2+FMA), else LibTorch's; differentiable once.
at::Tensor silu_mul(const at::Tensor& gate, const at::Tensor& up);

}  // namespace ps::models
