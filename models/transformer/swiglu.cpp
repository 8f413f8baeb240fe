#include "models/transformer/detail/swiglu.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <cstdint>

#include "models/transformer/detail/avx2_math.h"

namespace ps::models {

namespace {

using namespace avx2;


__attribute__((target("avx2,fma"))) inline __m256 sigmoid8(__m256 g) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp256(_mm256_sub_ps(_mm256_setzero_ps(), g))));
}
inline float sigmoid1(float g) { return 1.0f / (1.0f + std::exp(-g)); }

template <typename T>
__attribute__((target("avx2,fma"))) void forward_kernel(const T* g, const T* u, T* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 gv = load8(g + i);
    store8(y + i, _mm256_mul_ps(_mm256_mul_ps(gv, sigmoid8(gv)), load8(u + i)));
  }
  for (; i < n; ++i) store1(y + i, load1(g + i) * sigmoid1(load1(g + i)) * load1(u + i));
}

// d/dg = grad·u·s(1 + g(1 − s)), d/du = grad·g·s, s = σ(g).
template <typename T>
__attribute__((target("avx2,fma"))) void backward_kernel(const T* dy, const T* g, const T* u, T* dg, T* du, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 gv = load8(g + i), s = sigmoid8(gv), d = load8(dy + i);
    const __m256 dsilu = _mm256_mul_ps(s, _mm256_fmadd_ps(gv, _mm256_sub_ps(one, s), one));
    store8(dg + i, _mm256_mul_ps(_mm256_mul_ps(d, load8(u + i)), dsilu));
    store8(du + i, _mm256_mul_ps(d, _mm256_mul_ps(gv, s)));
  }
  for (; i < n; ++i) {
    const float gv = load1(g + i), s = sigmoid1(gv), d = load1(dy + i);
    store1(dg + i, d * load1(u + i) * s * (1.0f + gv * (1.0f - s)));
    store1(du + i, d * gv * s);
  }
}

template <typename F>
void split(int64_t n, F&& f) {
  at::parallel_for(0, n, 1 << 14, [&](int64_t a, int64_t b) { f(a, b - a); });
}

at::Tensor forward_fast(const at::Tensor& g, const at::Tensor& u) {
  auto y = at::empty_like(g);
  if (g.scalar_type() == at::kBFloat16) {
    auto *gp = static_cast<const uint16_t*>(g.data_ptr()), *up = static_cast<const uint16_t*>(u.data_ptr());
    auto* yp = static_cast<uint16_t*>(y.data_ptr());
    split(g.numel(), [&](int64_t o, int64_t n) { forward_kernel(gp + o, up + o, yp + o, n); });
  } else {
    const float *gp = g.data_ptr<float>(), *up = u.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    split(g.numel(), [&](int64_t o, int64_t n) { forward_kernel(gp + o, up + o, yp + o, n); });
  }
  return y;
}

struct SiluMulFunction : torch::autograd::Function<SiluMulFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& g, const at::Tensor& u) {
    ctx->save_for_backward({g, u});
    return forward_fast(g, u);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &g = saved[0], &u = saved[1];
    const auto dy = grads[0].to(g.scalar_type()).contiguous();
    auto dg = at::empty_like(g), du = at::empty_like(u);
    if (g.scalar_type() == at::kBFloat16) {
      auto cp = [](const at::Tensor& t) { return static_cast<const uint16_t*>(t.data_ptr()); };
      auto mp = [](at::Tensor& t) { return static_cast<uint16_t*>(t.data_ptr()); };
      split(g.numel(), [&](int64_t o, int64_t n) { backward_kernel(cp(dy) + o, cp(g) + o, cp(u) + o, mp(dg) + o, mp(du) + o, n); });
    } else {
      split(g.numel(), [&](int64_t o, int64_t n) {
        backward_kernel(dy.data_ptr<float>() + o, g.data_ptr<float>() + o, u.data_ptr<float>() + o, dg.data_ptr<float>() + o,
                        du.data_ptr<float>() + o, n);
      });
    }
    return {dg, du};
  }
};

}  // namespace

at::Tensor silu_mul(const at::Tensor& gate, const at::Tensor& up) {
  const bool fast = gate.device().is_cpu() && up.device().is_cpu() && gate.is_contiguous() && up.is_contiguous() &&
                    gate.sizes() == up.sizes() && gate.scalar_type() == up.scalar_type() &&
                    (gate.scalar_type() == at::kFloat || gate.scalar_type() == at::kBFloat16) && cpu_has_avx2_fma();
  if (!fast) return at::silu(gate) * up;
  if ((gate.requires_grad() || up.requires_grad()) && at::GradMode::is_enabled()) return SiluMulFunction::apply(gate, up);
  return forward_fast(gate, up);
}

}  // namespace ps::models
