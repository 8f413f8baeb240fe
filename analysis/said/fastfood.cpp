#include "analysis/said/fastfood.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <vector>

#include "analysis/said/fwht.h"
#include "models/util/error.h"

namespace ps::said {

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

at::Tensor as_flat_float(const at::Tensor& t, int64_t n, const std::string& what) {
  if (!t.defined() || t.numel() != n)
    throw InputError("fastfood: " + what + " has " + std::to_string(t.defined() ? t.numel() : 0) +
                     " elements, expected " + std::to_string(n));
  return t.detach().to(at::kCPU, at::kFloat).contiguous().view({n});
}

}  // namespace

Fastfood::Fastfood(const Shapes& shapes, int64_t d, uint64_t seed) : d_(d) {
  if (d < 1) throw InputError("fastfood: d must be at least 1 (got " + std::to_string(d) + ")");
  for (size_t i = 0; i < shapes.size(); ++i) {
    FastfoodTensor t;
    t.name = shapes[i].first;
    t.shape = shapes[i].second;
    t.D = 1;
    for (auto s : t.shape) t.D *= s;
    if (t.D < 1) throw InputError("fastfood: tensor '" + t.name + "' is empty");
    t.L = next_pow2(std::max(t.D, d));
    auto gen = at::make_generator<at::CPUGeneratorImpl>(splitmix64(seed ^ splitmix64(i + 1)));
    t.signs = at::randint(0, 2, {d}, gen, at::TensorOptions().dtype(at::kFloat)).mul_(2).sub_(1);
    t.perm = at::randperm(t.L, gen, at::TensorOptions().dtype(at::kInt));
    t.gauss = at::empty({t.L}, at::kFloat).normal_(0.0, 1.0, gen);
    const double g2 = t.gauss.to(at::kDouble).pow(2).sum().item<double>();
    t.scale = 1.0 / std::sqrt(double(t.D) * g2);
    total_ += t.D;
    tensors_.push_back(std::move(t));
  }
}

// Both maps run as plain loops over raw buffers: one ATen op per tensor would be a parallel region each (zeros,
// mul, copy), and dozens of mid-sized tensors per step would spend more time waking threads than computing.
at::Tensor Fastfood::project(size_t i, const at::Tensor& theta_d) const {
  const auto& t = tensors_.at(i);
  const auto x = as_flat_float(theta_d, d_, "theta_d");
  const int64_t n = std::min(d_, t.L);
  std::vector<float> buf(size_t(t.L), 0.0f), tmp(size_t(t.L));
  float* b = buf.data();
  float* y = tmp.data();
  const float* xs = x.data_ptr<float>();
  const float* sg = t.signs.data_ptr<float>();
  for (int64_t k = 0; k < n; ++k) b[k] = xs[k] * sg[k];
  fwht_inplace(b, t.L);
  const int32_t* pi = t.perm.data_ptr<int32_t>();
  const float* g = t.gauss.data_ptr<float>();
  at::parallel_for(0, t.L, 1 << 20, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k) y[k] = b[pi[k]] * g[k];
  });
  fwht_inplace(y, t.L);
  auto out = at::empty(t.shape, at::kFloat);
  float* o = out.data_ptr<float>();
  const float scale = float(t.scale);
  for (int64_t k = 0; k < t.D; ++k) o[k] = y[k] * scale;
  return out;
}

at::Tensor Fastfood::transpose(size_t i, const at::Tensor& grad) const {
  const auto& t = tensors_.at(i);
  const auto gflat = as_flat_float(grad, t.D, "gradient of '" + t.name + "'");
  // Pᵀ read right to left: scale, zero-pad to L, H, ⊙G, Πᵀ, H, ⊙B, first d.
  std::vector<float> tmp(size_t(t.L), 0.0f), buf(size_t(t.L));
  float* y = tmp.data();
  float* b = buf.data();
  const float* gs = gflat.data_ptr<float>();
  const float scale = float(t.scale);
  for (int64_t k = 0; k < t.D; ++k) y[k] = gs[k] * scale;
  fwht_inplace(y, t.L);
  const int32_t* pi = t.perm.data_ptr<int32_t>();
  const float* g = t.gauss.data_ptr<float>();
  at::parallel_for(0, t.L, 1 << 20, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k) b[pi[k]] = y[k] * g[k];
  });
  fwht_inplace(b, t.L);
  auto out = at::empty({d_}, at::kFloat);  // L >= d, so all of θ_d has a row
  float* o = out.data_ptr<float>();
  const float* sg = t.signs.data_ptr<float>();
  for (int64_t k = 0; k < d_; ++k) o[k] = b[k] * sg[k];
  return out;
}

}  // namespace ps::said
