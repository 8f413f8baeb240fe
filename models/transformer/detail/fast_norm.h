#pragma once
// LayerNorm and RMSNorm in one pass per row over float32 or bfloat16 memory, statistics in fp32 (RMSNorm also
// with its own backward, for training).
// In a bf16 forward LibTorch 1.13 converted every norm's input to fp32 and its output back (two extra passes
// over [T, d] per norm, 25 norms in GPT-2 small).
#include <ATen/core/Tensor.h>

namespace ps::models {

// True if the fast norms can run: CPU, contiguous x of float32 or bfloat16, weight (and bias, if defined) of
// x's dtype with d elements, nothing requiring grad, AVX2+FMA.
bool fast_norm_applies(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b);
// at::layer_norm over the last dim, computed in fp32 (for bf16 x: as layer_norm(x.float(), w.float(), b.float())
// cast back, the Transformer's reference path), to fp32 rounding.
at::Tensor layer_norm_fast(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, double eps);
// HF LlamaRMSNorm: w * (x.float() * rsqrt(mean(x.float()^2) + eps)).to(x.dtype), with the same two roundings.
at::Tensor rms_norm_fast(const at::Tensor& x, const at::Tensor& w, double eps);

// The same RMSNorm differentiable in x and w (training): one pass forward, one backward, dw summed over fixed
// row blocks in order so it does not depend on the thread count. Needs CPU, contiguous x, w of x's dtype with
// d elements, float32 or bfloat16, AVX2+FMA.
bool rms_norm_grad_applies(const at::Tensor& x, const at::Tensor& w);
at::Tensor rms_norm_autograd(const at::Tensor& x, const at::Tensor& w, double eps);

}  // namespace ps::models
