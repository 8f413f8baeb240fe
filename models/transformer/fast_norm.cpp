#include "models/transformer/detail/fast_norm.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "models/transformer/detail/avx2_math.h"
#include "models/transformer/detail/dtype_dispatch.h"

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

// Returns r = 1/sqrt(mean(x²) + eps), which the backward reuses.
template <typename T>
__attribute__((target("avx2,fma"))) float rms_norm_row(const T* x, const T* w, int64_t d, float eps, T* y) {
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
  return r;
}

// dx = r·(dy·w − n·mean(dy·w·n)) with n = x·r unrounded (the rounding's gradient is the identity);
// dw_partial += dy · round(n), in fp32.
template <typename T>
__attribute__((target("avx2,fma"))) void backward_row(const T* dy, const T* x, const T* w, float r, int64_t d, T* dx,
                                                      float* dw_partial) {
  const __m256 r8 = _mm256_set1_ps(r);
  __m256 acc = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= d; j += 8) {
    const __m256 g = load8(dy + j), n = _mm256_mul_ps(load8(x + j), r8);
    acc = _mm256_fmadd_ps(_mm256_mul_ps(g, load8(w + j)), n, acc);
  }
  float dot = hsum(acc);
  for (; j < d; ++j) dot += load1(dy + j) * load1(w + j) * load1(x + j) * r;
  const float m = dot / float(d);
  const __m256 m8 = _mm256_set1_ps(m);
  for (j = 0; j + 8 <= d; j += 8) {
    const __m256 g = load8(dy + j), n = _mm256_mul_ps(load8(x + j), r8);
    store8(dx + j, _mm256_mul_ps(r8, _mm256_fnmadd_ps(n, m8, _mm256_mul_ps(g, load8(w + j)))));
    _mm256_storeu_ps(dw_partial + j, _mm256_fmadd_ps(g, round8(x, n), _mm256_loadu_ps(dw_partial + j)));
  }
  for (; j < d; ++j) {
    const float g = load1(dy + j), n = load1(x + j) * r;
    store1(dx + j, r * (g * load1(w + j) - n * m));
    dw_partial[j] += g * round_to(x, n);
  }
}

template <typename F>
void rows(const at::Tensor& x, F&& f) {
  const int64_t d = x.size(-1), n = x.numel() / std::max<int64_t>(1, d);
  at::parallel_for(0, n, 16, [&](int64_t a, int64_t b) {
    for (int64_t r = a; r < b; ++r) f(r * d, d);
  });
}

constexpr int64_t kRowsPerBlock = 128;  // dw sums fixed blocks in a fixed order: the same for any thread count

struct RmsNormFunction : torch::autograd::Function<RmsNormFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w, double eps) {
    const int64_t d = x.size(-1), N = x.numel() / d;
    auto y = at::empty_like(x);
    auto r = at::empty({N}, x.options().dtype(at::kFloat));
    float* rp = r.data_ptr<float>();
    with_ptr(x, [&](auto* xp) {
      auto* wp = static_cast<decltype(xp)>(w.data_ptr());
      auto* yp = static_cast<decltype(xp)>(y.data_ptr());
      at::parallel_for(0, N, 16, [&](int64_t a, int64_t b) {
        for (int64_t i = a; i < b; ++i) rp[i] = rms_norm_row(xp + i * d, wp, d, float(eps), yp + i * d);
      });
    });
    ctx->save_for_backward({x, w, r});
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &w = saved[1], &r = saved[2];
    const int64_t d = x.size(-1), N = x.numel() / d, blocks = (N + kRowsPerBlock - 1) / kRowsPerBlock;
    const auto dy = grads[0].to(x.scalar_type()).contiguous();
    auto dx = at::empty_like(x);
    std::vector<float> partial(size_t(blocks * d), 0.0f);
    const float* rp = r.data_ptr<float>();
    with_ptr(x, [&](auto* xp) {
      using T = std::remove_pointer_t<decltype(xp)>;
      auto* wp = static_cast<const T*>(w.data_ptr());
      auto* gp = static_cast<const T*>(dy.data_ptr());
      auto* dxp = static_cast<T*>(dx.data_ptr());
      at::parallel_for(0, blocks, 1, [&](int64_t a, int64_t b) {
        for (int64_t k = a; k < b; ++k)
          for (int64_t i = k * kRowsPerBlock; i < std::min(N, (k + 1) * kRowsPerBlock); ++i)
            backward_row(gp + i * d, xp + i * d, wp, rp[i], d, dxp + i * d, partial.data() + k * d);
      });
    });
    auto dw = at::zeros({d}, x.options().dtype(at::kFloat));
    float* dwp = dw.data_ptr<float>();
    for (int64_t k = 0; k < blocks; ++k)
      for (int64_t j = 0; j < d; ++j) dwp[j] += partial[size_t(k * d + j)];
    return {dx, dw.to(w.scalar_type()), at::Tensor()};
  }
};

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

bool rms_norm_grad_applies(const at::Tensor& x, const at::Tensor& w) {
  return x.defined() && w.defined() && x.device().is_cpu() && w.device().is_cpu() && x.dim() >= 1 && x.size(-1) > 0 &&
         x.is_contiguous() && w.is_contiguous() && w.dim() == 1 && w.size(0) == x.size(-1) &&
         (x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16) && w.scalar_type() == x.scalar_type() &&
         cpu_has_avx2_fma();
}

at::Tensor rms_norm_autograd(const at::Tensor& x, const at::Tensor& w, double eps) {
  return RmsNormFunction::apply(x, w, eps);
}

}  // namespace ps::models
