#include "models/transformer/detail/fast_gelu.h"

#include "models/transformer/detail/avx2_math.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <immintrin.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace ps::models {

namespace {

using namespace avx2;

constexpr float kC = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kCubic = 0.044715f;

float gelu_scalar(float x) {
  const float z = kC * (x + kCubic * x * x * x);
  return x / (1.0f + std::exp(-2.0f * z));
}

__attribute__((target("avx2,fma"))) __m256 gelu256(__m256 x) {
  const __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
  const __m256 z = _mm256_mul_ps(_mm256_set1_ps(kC), _mm256_fmadd_ps(_mm256_set1_ps(kCubic), x3, x));
  const __m256 e = exp256(_mm256_mul_ps(_mm256_set1_ps(-2.0f), z));
  return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

__attribute__((target("avx2,fma"))) void gelu_f32(const float* in, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, gelu256(_mm256_loadu_ps(in + i)));
  for (; i < n; ++i) out[i] = gelu_scalar(in[i]);
}

__attribute__((target("avx2,fma"))) void gelu_bf16(const uint16_t* in, uint16_t* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) store_bf16(out + i, gelu256(load_bf16(in + i)));
  for (; i < n; ++i) out[i] = float_to_bf16(gelu_scalar(bf16_to_float(in[i])));
}

// d/dx [x·s], s = σ(2z), z = c(x + k x³): s + 2x·s(1 − s)·c(1 + 3k x²).
float gelu_grad_scalar(float x) {
  const float z = kC * (x + kCubic * x * x * x);
  const float s = 1.0f / (1.0f + std::exp(-2.0f * z));
  return s + 2.0f * x * s * (1.0f - s) * kC * (1.0f + 3.0f * kCubic * x * x);
}

__attribute__((target("avx2,fma"))) __m256 gelu_grad256(__m256 x) {
  const __m256 x2 = _mm256_mul_ps(x, x);
  const __m256 z = _mm256_mul_ps(_mm256_set1_ps(kC), _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(kCubic), x2), x, x));
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, exp256(_mm256_mul_ps(_mm256_set1_ps(-2.0f), z))));
  const __m256 dz = _mm256_mul_ps(_mm256_set1_ps(kC), _mm256_fmadd_ps(_mm256_set1_ps(3.0f * kCubic), x2, one));
  const __m256 ds = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(2.0f), x), _mm256_mul_ps(s, _mm256_sub_ps(one, s)));
  return _mm256_fmadd_ps(ds, dz, s);
}

__attribute__((target("avx2,fma"))) void gelu_backward_f32(const float* g, const float* x, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(g + i), gelu_grad256(_mm256_loadu_ps(x + i))));
  for (; i < n; ++i) out[i] = g[i] * gelu_grad_scalar(x[i]);
}

__attribute__((target("avx2,fma"))) void gelu_backward_bf16(const uint16_t* g, const uint16_t* x, uint16_t* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) store_bf16(out + i, _mm256_mul_ps(load_bf16(g + i), gelu_grad256(load_bf16(x + i))));
  for (; i < n; ++i) out[i] = float_to_bf16(bf16_to_float(g[i]) * gelu_grad_scalar(bf16_to_float(x[i])));
}

// parallel_for over [0, n) in chunks that start at multiples of 8, so only the tensor's last n % 8 elements take
// the scalar tail (std::exp, no FMA: other roundings than the vector path): the result is then bit-for-bit the
// same whatever the thread count, where chunk edges at a / threads put scalar tails mid-tensor.
template <class F>
void for_blocks_of_8(int64_t n, const F& f) {
  at::parallel_for(0, (n + 7) / 8, (1 << 14) / 8, [&](int64_t a, int64_t b) { f(a * 8, std::min(b * 8, n)); });
}

bool kernel_applies(const at::Tensor& x) {
  return x.device().is_cpu() && x.is_contiguous() && (x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16) &&
         cpu_has_avx2_fma();
}

// Saves the input and differentiates with the kernel above; first-order only (nothing here needs more).
struct GeluTanhFunction : torch::autograd::Function<GeluTanhFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x) {
    ctx->save_for_backward({x});
    return gelu_tanh_fast(x);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list g) {
    const auto x = ctx->get_saved_variables()[0];
    return {gelu_tanh_backward_fast(g[0].to(x.scalar_type()).contiguous(), x)};
  }
};

}  // namespace

bool gelu_tanh_fast_applies(const at::Tensor& x) { return kernel_applies(x) && !x.requires_grad(); }

at::Tensor gelu_tanh(const at::Tensor& x) {
  if (!kernel_applies(x)) return at::gelu(x, "tanh");
  return x.requires_grad() ? GeluTanhFunction::apply(x) : gelu_tanh_fast(x);
}

at::Tensor gelu_tanh_backward_fast(const at::Tensor& grad, const at::Tensor& x) {
  if (grad.sizes() != x.sizes() || grad.scalar_type() != x.scalar_type() || !grad.is_contiguous() || !kernel_applies(x))
    throw std::invalid_argument("gelu_tanh_backward_fast: grad and x must be contiguous CPU tensors of one shape and dtype");
  auto out = at::empty_like(x);
  const bool bf16 = x.scalar_type() == at::kBFloat16;
  const void* g_p = grad.data_ptr();
  const void* x_p = x.data_ptr();
  void* out_p = out.data_ptr();
  for_blocks_of_8(x.numel(), [&](int64_t a, int64_t b) {
    if (bf16)
      gelu_backward_bf16(static_cast<const uint16_t*>(g_p) + a, static_cast<const uint16_t*>(x_p) + a,
                         static_cast<uint16_t*>(out_p) + a, b - a);
    else
      gelu_backward_f32(static_cast<const float*>(g_p) + a, static_cast<const float*>(x_p) + a,
                        static_cast<float*>(out_p) + a, b - a);
  });
  return out;
}

at::Tensor gelu_tanh_fast(const at::Tensor& x) {
  auto out = at::empty_like(x);
  const int64_t n = x.numel();
  const bool bf16 = x.scalar_type() == at::kBFloat16;
  const void* in_p = x.data_ptr();
  void* out_p = out.data_ptr();
  for_blocks_of_8(n, [&](int64_t a, int64_t b) {
    if (bf16)
      gelu_bf16(static_cast<const uint16_t*>(in_p) + a, static_cast<uint16_t*>(out_p) + a, b - a);
    else
      gelu_f32(static_cast<const float*>(in_p) + a, static_cast<float*>(out_p) + a, b - a);
  });
  return out;
}

}  // namespace ps::models
