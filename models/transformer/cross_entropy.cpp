#include "models/transformer/cross_entropy.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/transformer/detail/avx2_math.h"

namespace ps::models {

namespace {

using namespace avx2;


// One row: returns −log softmax(x)[t]; writes softmax(x) − onehot(t) to g when g is not null.
template <typename T>
__attribute__((target("avx2,fma"))) float row_loss(const T* x, int64_t V, int64_t t, T* g) {
  int64_t j = 0;
  __m256 vmax = _mm256_set1_ps(-INFINITY);
  for (; j + 8 <= V; j += 8) vmax = _mm256_max_ps(vmax, load8(x + j));
  float mx = hmax(vmax);
  for (; j < V; ++j) mx = std::max(mx, load1(x + j));
  const __m256 m8 = _mm256_set1_ps(mx);
  __m256 vsum = _mm256_setzero_ps();
  for (j = 0; j + 8 <= V; j += 8) vsum = _mm256_add_ps(vsum, exp256(_mm256_sub_ps(load8(x + j), m8)));
  float sum = hsum(vsum);
  for (; j < V; ++j) sum += std::exp(load1(x + j) - mx);
  if (g) {
    const float inv = 1.0f / sum;
    const __m256 inv8 = _mm256_set1_ps(inv);
    for (j = 0; j + 8 <= V; j += 8) store8(g + j, _mm256_mul_ps(exp256(_mm256_sub_ps(load8(x + j), m8)), inv8));
    for (; j < V; ++j) store1(g + j, std::exp(load1(x + j) - mx) * inv);
    store1(g + t, std::exp(load1(x + t) - mx) * inv - 1.0f);  // the target's entry from fp32, rounded once
  }
  return mx + std::log(sum) - load1(x + t);
}

template <typename T>
void scale_in_place(T* p, int64_t n, float s) {
  at::parallel_for(0, n, 1 << 16, [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; ++i) store1(p + i, load1(p + i) * s);
  });
}

// Per-row losses summed in row order in double: the same value for any thread count.
at::Tensor fused(const at::Tensor& logits, const at::Tensor& targets, int64_t ignore, at::Tensor* grad) {
  const int64_t N = logits.size(0), V = logits.size(1);
  const auto tg = targets.to(at::kLong).contiguous();
  const int64_t* t = tg.data_ptr<int64_t>();
  for (int64_t r = 0; r < N; ++r)
    if (t[r] != ignore && (t[r] < 0 || t[r] >= V))
      throw std::invalid_argument("cross_entropy_sum: target " + std::to_string(t[r]) + " at row " + std::to_string(r) +
                                  " is outside the vocabulary [0, " + std::to_string(V) + ")");
  const bool bf16 = logits.scalar_type() == at::kBFloat16;
  if (grad) *grad = at::empty_like(logits);
  std::vector<double> loss(size_t(N), 0.0);
  at::parallel_for(0, N, 16, [&](int64_t a, int64_t b) {
    for (int64_t r = a; r < b; ++r) {
      if (t[r] == ignore) {
        if (grad) std::memset(static_cast<char*>(grad->data_ptr()) + r * V * grad->element_size(), 0, size_t(V * grad->element_size()));
        continue;
      }
      if (bf16) {
        auto* x = static_cast<const uint16_t*>(logits.data_ptr()) + r * V;
        auto* g = grad ? static_cast<uint16_t*>(grad->data_ptr()) + r * V : nullptr;
        loss[size_t(r)] = row_loss(x, V, t[r], g);
      } else {
        const float* x = logits.data_ptr<float>() + r * V;
        float* g = grad ? grad->data_ptr<float>() + r * V : nullptr;
        loss[size_t(r)] = row_loss(x, V, t[r], g);
      }
    }
  });
  double total = 0;
  for (double l : loss) total += l;
  return at::scalar_tensor(total, at::TensorOptions().dtype(at::kFloat));
}

struct CrossEntropyFunction : torch::autograd::Function<CrossEntropyFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& logits, const at::Tensor& targets,
                            int64_t ignore) {
    at::Tensor grad;
    auto loss = fused(logits, targets, ignore, &grad);
    ctx->saved_data["grad"] = grad;
    return loss;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list g) {
    auto grad = ctx->saved_data["grad"].toTensor();
    const float s = g[0].item<float>();
    if (s != 1.0f) {
      if (grad.scalar_type() == at::kBFloat16)
        scale_in_place(static_cast<uint16_t*>(grad.data_ptr()), grad.numel(), s);
      else
        scale_in_place(grad.data_ptr<float>(), grad.numel(), s);
    }
    return {grad, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor cross_entropy_sum(const at::Tensor& logits, const at::Tensor& targets, int64_t ignore_index) {
  const bool fast = logits.device().is_cpu() && logits.dim() == 2 && logits.is_contiguous() && targets.dim() == 1 &&
                    targets.size(0) == logits.size(0) && logits.size(1) > 0 &&
                    (logits.scalar_type() == at::kFloat || logits.scalar_type() == at::kBFloat16) && cpu_has_avx2_fma();
  if (!fast)
    return at::cross_entropy_loss(logits.to(at::kFloat), targets, {}, at::Reduction::Sum, ignore_index);
  if (logits.requires_grad() && at::GradMode::is_enabled()) return CrossEntropyFunction::apply(logits, targets, ignore_index);
  return fused(logits, targets, ignore_index, nullptr);
}

}  // namespace ps::models
