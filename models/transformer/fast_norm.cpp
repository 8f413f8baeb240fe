#include "models/transformer/detail/fast_norm.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <cstdint>

#include "models/transformer/detail/avx2_math.h"

namespace ps::models {

namespace {

using namespace avx2;

// Rounds fp32 to the storage type and back (identity for float): the cast in HF's RMSNorm.
inline float round_to(const float*, float v) { return v; }
inline float round_to(const uint16_t*, float v) { return bf16_to_float(float_to_bf16(v)); }
__attribute__((target("avx2,fma"))) inline __m256 round8(const float*, __m256 v) { return v; }
__attribute__((target("avx2,fma"))) inline __m256 round8(const uint16_t*, __m256 v) {
  alignas(32) uint16_t tmp[8];
  store_bf16(tmp, v);
  return load_bf16(tmp);
}

template <typename T>
__attribute__((target("avx2,fma"))) void layer_norm_row(const T* x, const T* w, const T* b, int64_t d, float eps, T* y) {
  __m256 acc = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= d; j += 8) acc = _mm256_add_ps(acc, load8(x + j));
  float sum = hsum(acc);
  for (; j < d; ++j) sum += load1(x + j);
  const float mean = sum / float(d);
  const __m256 m8 = _mm256_set1_ps(mean);
  acc = _mm256_setzero_ps();
  for (j = 0; j + 8 <= d; j += 8) {
    const __m256 c = _mm256_sub_ps(load8(x + j), m8);
    acc = _mm256_fmadd_ps(c, c, acc);
  }
  float ss = hsum(acc);
  for (; j < d; ++j) ss += (load1(x + j) - mean) * (load1(x + j) - mean);
  const float rstd = 1.0f / std::sqrt(ss / float(d) + eps);
  const __m256 r8 = _mm256_set1_ps(rstd);
  for (j = 0; j + 8 <= d; j += 8) {
    const __m256 n = _mm256_mul_ps(_mm256_sub_ps(load8(x + j), m8), r8);
    store8(y + j, b ? _mm256_fmadd_ps(n, load8(w + j), load8(b + j)) : _mm256_mul_ps(n, load8(w + j)));
  }
  for (; j < d; ++j) {
    const float n = (load1(x + j) - mean) * rstd;
    store1(y + j, b ? n * load1(w + j) + load1(b + j) : n * load1(w + j));
  }
}

template <typename T>
__attribute__((target("avx2,fma"))) void rms_norm_row(const T* x, const T* w, int64_t d, float eps, T* y) {
  __m256 acc = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= d; j += 8) {
    const __m256 v = load8(x + j);
    acc = _mm256_fmadd_ps(v, v, acc);
  }
  float ss = hsum(acc);
  for (; j < d; ++j) ss += load1(x + j) * load1(x + j);
  const float r = 1.0f / std::sqrt(ss / float(d) + eps);
  const __m256 r8 = _mm256_set1_ps(r);
  for (j = 0; j + 8 <= d; j += 8) store8(y + j, _mm256_mul_ps(load8(w + j), round8(x, _mm256_mul_ps(load8(x + j), r8))));
  for (; j < d; ++j) store1(y + j, load1(w + j) * round_to(x, load1(x + j) * r));
}

template <typename F>
void rows(const at::Tensor& x, F&& f) {
  const int64_t d = x.size(-1), n = x.numel() / std::max<int64_t>(1, d);
  at::parallel_for(0, n, 16, [&](int64_t a, int64_t b) {
    for (int64_t r = a; r < b; ++r) f(r * d, d);
  });
}

}  // namespace

bool fast_norm_applies(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  auto ok = [&](const at::Tensor& p) {
    return p.device().is_cpu() && p.scalar_type() == x.scalar_type() && p.is_contiguous() && p.dim() == 1 &&
           p.size(0) == x.size(-1) && !p.requires_grad();
  };
  return x.device().is_cpu() && x.dim() >= 1 && x.size(-1) > 0 && x.is_contiguous() && !x.requires_grad() &&
         (x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16) && ok(w) && (!b.defined() || ok(b)) &&
         cpu_has_avx2_fma();
}

at::Tensor layer_norm_fast(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, double eps) {
  auto y = at::empty_like(x);
  const float e = float(eps);
  if (x.scalar_type() == at::kBFloat16) {
    auto* xp = static_cast<const uint16_t*>(x.data_ptr());
    auto* wp = static_cast<const uint16_t*>(w.data_ptr());
    auto* bp = b.defined() ? static_cast<const uint16_t*>(b.data_ptr()) : nullptr;
    auto* yp = static_cast<uint16_t*>(y.data_ptr());
    rows(x, [&](int64_t o, int64_t d) { layer_norm_row(xp + o, wp, bp, d, e, yp + o); });
  } else {
    const float* bp = b.defined() ? b.data_ptr<float>() : nullptr;
    const float *xp = x.data_ptr<float>(), *wp = w.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    rows(x, [&](int64_t o, int64_t d) { layer_norm_row(xp + o, wp, bp, d, e, yp + o); });
  }
  return y;
}

at::Tensor rms_norm_fast(const at::Tensor& x, const at::Tensor& w, double eps) {
  auto y = at::empty_like(x);
  const float e = float(eps);
  if (x.scalar_type() == at::kBFloat16) {
    auto* xp = static_cast<const uint16_t*>(x.data_ptr());
    auto* wp = static_cast<const uint16_t*>(w.data_ptr());
    auto* yp = static_cast<uint16_t*>(y.data_ptr());
    rows(x, [&](int64_t o, int64_t d) { rms_norm_row(xp + o, wp, d, e, yp + o); });
  } else {
    const float *xp = x.data_ptr<float>(), *wp = w.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    rows(x, [&](int64_t o, int64_t d) { rms_norm_row(xp + o, wp, d, e, yp + o); });
  }
  return y;
}

}  // namespace ps::models
