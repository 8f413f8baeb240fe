#include "models/transformer/detail/masked_softmax.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <cstdint>

#include "models/transformer/detail/avx2_math.h"
#include "models/transformer/detail/dtype_dispatch.h"

namespace ps::models {

namespace {

using namespace avx2;


// All-ones lanes where the 8 mask bytes are 0 (attended).
__attribute__((target("avx2,fma"))) inline __m256 keep8(const bool* m) {
  const __m256i b = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(m)));
  return _mm256_castsi256_ps(_mm256_cmpeq_epi32(b, _mm256_setzero_si256()));
}

template <typename T>
__attribute__((target("avx2,fma"))) void row(const T* x, const bool* blocked, int64_t m, float scale, T* y) {
  const __m256 sc = _mm256_set1_ps(scale), ninf = _mm256_set1_ps(-INFINITY);
  __m256 vmax = ninf;
  int64_t j = 0;
  for (; j + 8 <= m; j += 8) vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(ninf, _mm256_mul_ps(load8(x + j), sc), keep8(blocked + j)));
  float mx = hmax(vmax);
  for (; j < m; ++j)
    if (!blocked[j]) mx = std::max(mx, load1(x + j) * scale);
  if (mx == -INFINITY) {  // every entry blocked: LibTorch's softmax of equal values is uniform
    for (j = 0; j < m; ++j) store1(y + j, 1.0f / float(m));
    return;
  }
  const __m256 m8 = _mm256_set1_ps(mx);
  __m256 vsum = _mm256_setzero_ps();
  // exp is computed again in the writing pass: cheaper than a row buffer, and the same for bf16 and float.
  for (j = 0; j + 8 <= m; j += 8) {
    const __m256 e = _mm256_and_ps(exp256(_mm256_fmsub_ps(load8(x + j), sc, m8)), keep8(blocked + j));
    vsum = _mm256_add_ps(vsum, e);
  }
  float sum = hsum(vsum);
  for (; j < m; ++j)
    if (!blocked[j]) sum += std::exp(load1(x + j) * scale - mx);
  const __m256 inv = _mm256_set1_ps(1.0f / sum);
  for (j = 0; j + 8 <= m; j += 8) {
    const __m256 e = _mm256_and_ps(exp256(_mm256_fmsub_ps(load8(x + j), sc, m8)), keep8(blocked + j));
    store8(y + j, _mm256_mul_ps(e, inv));
  }
  for (; j < m; ++j) store1(y + j, blocked[j] ? 0.0f : std::exp(load1(x + j) * scale - mx) * (1.0f / sum));
}

// Softmax backward of one row: ds = scale · p · (dp − Σ dp·p), 0 where blocked (masked_fill's gradient).
template <typename T>
__attribute__((target("avx2,fma"))) void backward_row(const T* p, const T* dp, const bool* blocked, int64_t m, float scale,
                                                      T* ds) {
  __m256 acc = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= m; j += 8) acc = _mm256_fmadd_ps(load8(p + j), load8(dp + j), acc);
  float dot = hsum(acc);
  for (; j < m; ++j) dot += load1(p + j) * load1(dp + j);
  const __m256 d8 = _mm256_set1_ps(dot), sc = _mm256_set1_ps(scale);
  for (j = 0; j + 8 <= m; j += 8) {
    const __m256 g = _mm256_mul_ps(_mm256_mul_ps(load8(p + j), _mm256_sub_ps(load8(dp + j), d8)), sc);
    store8(ds + j, _mm256_and_ps(g, keep8(blocked + j)));
  }
  for (; j < m; ++j) store1(ds + j, blocked[j] ? 0.0f : scale * load1(p + j) * (load1(dp + j) - dot));
}

// Rows of scores [G, n, m] against blocked [Bm, n, m], G = Bm · heads: row r reads mask row (r / (heads·n))·n + r % n.
template <typename F>
void each_row(const at::Tensor& scores, const at::Tensor& blocked, F&& f) {
  const int64_t G = scores.size(0), n = scores.size(1), m = scores.size(2), heads = G / blocked.size(0);
  const bool* mask = blocked.data_ptr<bool>();
  at::parallel_for(0, G * n, 64, [&](int64_t a, int64_t b) {
    for (int64_t r = a; r < b; ++r) f(r * m, mask + ((r / (heads * n)) * n + r % n) * m, m);
  });
}

struct MaskedSoftmaxFunction : torch::autograd::Function<MaskedSoftmaxFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& scores, const at::Tensor& blocked,
                            double scale) {
    auto p = masked_softmax(scores, blocked, scale);
    ctx->save_for_backward({p, blocked});
    ctx->saved_data["scale"] = scale;
    return p;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &p = saved[0], &blocked = saved[1];
    const float scale = float(ctx->saved_data["scale"].toDouble());
    const auto dp = grads[0].to(p.scalar_type()).contiguous();
    auto ds = at::empty_like(p);
    with_ptr(p, [&](auto* pp) {
      using T = std::remove_pointer_t<decltype(pp)>;
      const T* gp = static_cast<const T*>(dp.data_ptr());
      T* dsp = static_cast<T*>(ds.data_ptr());
      each_row(p, blocked, [&](int64_t o, const bool* mrow, int64_t m) { backward_row(pp + o, gp + o, mrow, m, scale, dsp + o); });
    });
    return {ds, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

bool masked_softmax_applies(const at::Tensor& scores, const at::Tensor& blocked) {
  return scores.device().is_cpu() && scores.dim() == 3 && scores.is_contiguous() &&
         (scores.scalar_type() == at::kFloat || scores.scalar_type() == at::kBFloat16) && blocked.device().is_cpu() &&
         blocked.scalar_type() == at::kBool && blocked.dim() == 3 && blocked.size(0) > 0 &&
         scores.size(0) % blocked.size(0) == 0 &&
         blocked.size(1) == scores.size(1) && blocked.size(2) == scores.size(2) && blocked.is_contiguous() &&
         cpu_has_avx2_fma();
}

at::Tensor masked_softmax(const at::Tensor& scores, const at::Tensor& blocked, double scale) {
  auto out = at::empty_like(scores);
  const float s = float(scale);
  // Called from inside the per-sequence OpenMP tasks: parallel_for then runs inline on this thread.
  with_ptr(scores, [&](auto* xp) {
    using T = std::remove_pointer_t<decltype(xp)>;
    T* yp = static_cast<T*>(out.data_ptr());
    each_row(scores, blocked, [&](int64_t o, const bool* mrow, int64_t m) { row(xp + o, mrow, m, s, yp + o); });
  });
  return out;
}

at::Tensor masked_softmax_autograd(const at::Tensor& scores, const at::Tensor& blocked, double scale) {
  return MaskedSoftmaxFunction::apply(scores, blocked, scale);
}

}  // namespace ps::models
