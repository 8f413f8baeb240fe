#include "models/transformer/detail/fast_gelu.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>

namespace ps::models {

namespace {

constexpr float kC = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kCubic = 0.044715f;

float gelu_scalar(float x) {
  const float z = kC * (x + kCubic * x * x * x);
  return x / (1.0f + std::exp(-2.0f * z));
}

// exp for AVX2 (Cephes polynomial, ~1 ulp on the clamped range).
__attribute__((target("avx2,fma"))) __m256 exp256(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
  __m256 fx = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  const __m256i pow2n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(pow2n));
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

float bf16_to_float(uint16_t h) {
  const uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t float_to_bf16(float f) {  // round to nearest even, as c10::BFloat16
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if (std::isnan(f)) return 0x7FC0;
  return uint16_t((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

__attribute__((target("avx2,fma"))) void gelu_bf16(const uint16_t* in, uint16_t* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    const __m256 x = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    __m256i b = _mm256_castps_si256(gelu256(x));
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(b, 16), _mm256_set1_epi32(1));
    b = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(b, _mm256_set1_epi32(0x7FFF)), lsb), 16);
    const __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), packed);
  }
  for (; i < n; ++i) out[i] = float_to_bf16(gelu_scalar(bf16_to_float(in[i])));
}

bool cpu_has_avx2_fma() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}

}  // namespace

bool gelu_tanh_fast_applies(const at::Tensor& x) {
  return x.device().is_cpu() && x.is_contiguous() && !x.requires_grad() &&
         (x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16) && cpu_has_avx2_fma();
}

at::Tensor gelu_tanh_fast(const at::Tensor& x) {
  auto out = at::empty_like(x);
  const int64_t n = x.numel();
  const bool bf16 = x.scalar_type() == at::kBFloat16;
  const void* in_p = x.data_ptr();
  void* out_p = out.data_ptr();
  at::parallel_for(0, n, 1 << 14, [&](int64_t a, int64_t b) {
    if (bf16)
      gelu_bf16(static_cast<const uint16_t*>(in_p) + a, static_cast<uint16_t*>(out_p) + a, b - a);
    else
      gelu_f32(static_cast<const float*>(in_p) + a, static_cast<float*>(out_p) + a, b - a);
  });
  return out;
}

}  // namespace ps::models
