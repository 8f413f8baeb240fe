#include "models/transformer/detail/masked_softmax.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <cstdint>

#include "models/transformer/detail/avx2_math.h"

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

}  // namespace

bool masked_softmax_applies(const at::Tensor& scores, const at::Tensor& blocked) {
  return scores.device().is_cpu() && scores.dim() == 3 && scores.is_contiguous() &&
         (scores.scalar_type() == at::kFloat || scores.scalar_type() == at::kBFloat16) && blocked.device().is_cpu() &&
         blocked.scalar_type() == at::kBool && blocked.dim() == 3 && blocked.size(0) == 1 &&
         blocked.size(1) == scores.size(1) && blocked.size(2) == scores.size(2) && blocked.is_contiguous() &&
         cpu_has_avx2_fma();
}

at::Tensor masked_softmax(const at::Tensor& scores, const at::Tensor& blocked, double scale) {
  const int64_t h = scores.size(0), n = scores.size(1), m = scores.size(2);
  auto out = at::empty_like(scores);
  const bool bf16 = scores.scalar_type() == at::kBFloat16;
  const bool* mask = blocked.data_ptr<bool>();
  const float s = float(scale);
  // Called from inside the per-sequence OpenMP tasks: parallel_for then runs inline on this thread.
  at::parallel_for(0, h * n, 64, [&](int64_t a, int64_t b) {
    for (int64_t r = a; r < b; ++r) {
      const bool* mrow = mask + (r % n) * m;
      if (bf16)
        row(static_cast<const uint16_t*>(scores.data_ptr()) + r * m, mrow, m, s, static_cast<uint16_t*>(out.data_ptr()) + r * m);
      else
        row(scores.data_ptr<float>() + r * m, mrow, m, s, out.data_ptr<float>() + r * m);
    }
  });
  return out;
}

}  // namespace ps::models
