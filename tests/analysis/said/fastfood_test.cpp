// Fastfood projection: equal to the spec's formula built from dense matrices, linear, adjoint to its
// transpose, deterministic in the seed, and ‖Δθ_t‖² ≈ ‖θ_d‖² in expectation (the 1/sqrt(D ΣG²) scaling).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "analysis/said/fastfood.h"
#include "analysis/said/fwht.h"
#include "models/util/error.h"

namespace ps::said {
namespace {

at::Tensor dense_hadamard(int64_t n) {
  auto h = at::ones({1, 1}, at::kDouble);
  while (h.size(0) < n) h = at::cat({at::cat({h, h}, 1), at::cat({h, -h}, 1)}, 0);
  return h;
}

// P_t as a dense [D, d] matrix, straight from the spec: S_D H diag(G) Π H diag(B) Pad_d / sqrt(D ΣG²).
at::Tensor dense_projection(const FastfoodTensor& t, int64_t d) {
  const auto H = dense_hadamard(t.L);
  auto pad = at::zeros({t.L, d}, at::kDouble);
  pad.narrow(0, 0, d).copy_(at::eye(d, at::kDouble));
  const auto B = at::diag(t.signs.to(at::kDouble));  // [d, d]: B restricted to the non-zero part of x
  auto Pi = at::zeros({t.L, t.L}, at::kDouble);
  const auto perm = t.perm.to(at::kLong);
  for (int64_t k = 0; k < t.L; ++k) Pi[k][perm[k].item<int64_t>()] = 1.0;  // (Π v)[k] = v[perm[k]]
  const auto G = at::diag(t.gauss.to(at::kDouble));
  const auto full = H.matmul(G).matmul(Pi).matmul(H).matmul(pad).matmul(B);
  const double g2 = t.gauss.to(at::kDouble).pow(2).sum().item<double>();
  return full.narrow(0, 0, t.D) / std::sqrt(double(t.D) * g2);
}

at::Tensor randn(int64_t n, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::empty({n}, at::kFloat).normal_(0.0, 1.0, gen);
}

const Fastfood::Shapes kShapes{{"w", {4, 5}}, {"b", {3}}, {"emb", {8, 8}}, {"big", {37, 11}}};

TEST(Fastfood, EqualsDenseSpecFormula) {
  for (int64_t d : {1, 3, 7, 20, 64}) {
    Fastfood ff(kShapes, d, 42);
    const auto x = randn(d, 1);
    for (size_t i = 0; i < ff.size(); ++i) {
      const auto& t = ff.tensor(i);
      EXPECT_EQ(t.L, next_pow2(std::max<int64_t>(t.D, d)));
      const auto P = dense_projection(t, d);
      const auto want = P.matmul(x.to(at::kDouble)).view(t.shape);
      const auto got = ff.project(i, x);
      EXPECT_EQ(got.sizes(), want.sizes());
      EXPECT_TRUE(at::allclose(got.to(at::kDouble), want, 1e-5, 1e-5)) << t.name << " d=" << d;
      // The transpose is the dense transpose.
      const auto g = randn(t.D, 2);
      const auto want_t = P.t().matmul(g.to(at::kDouble));
      EXPECT_TRUE(at::allclose(ff.transpose(i, g).to(at::kDouble), want_t, 1e-5, 1e-5)) << t.name << " d=" << d;
    }
  }
}

TEST(Fastfood, LinearAndAdjoint) {
  const int64_t d = 300;
  Fastfood ff({{"a", {1000}}, {"b", {64}}, {"c", {40000}}}, d, 3);
  const auto x = randn(d, 10), y = randn(d, 11);
  for (size_t i = 0; i < ff.size(); ++i) {
    const auto lhs = ff.project(i, x * 2.5f - y * 0.5f);
    const auto rhs = ff.project(i, x) * 2.5f - ff.project(i, y) * 0.5f;
    EXPECT_TRUE(at::allclose(lhs, rhs, 1e-4, 1e-5));
    const auto g = randn(ff.tensor(i).D, 12 + i);
    const double a = (ff.project(i, x).to(at::kDouble) * g.to(at::kDouble)).sum().item<double>();
    const double b = (x.to(at::kDouble) * ff.transpose(i, g).to(at::kDouble)).sum().item<double>();
    EXPECT_NEAR(a, b, 1e-4 * (std::abs(a) + 1.0));
  }
  EXPECT_TRUE(at::equal(ff.project(0, at::zeros({d})), at::zeros({1000})));
}

TEST(Fastfood, DeterministicInSeed) {
  const auto x = randn(50, 4);
  Fastfood a(kShapes, 50, 9), b(kShapes, 50, 9), c(kShapes, 50, 10);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(at::equal(a.project(i, x), b.project(i, x)));
    EXPECT_FALSE(at::equal(a.project(i, x), c.project(i, x)));
  }
  // Tensors draw independent projections: the same shape twice gives different maps.
  Fastfood twice({{"p", {100}}, {"q", {100}}}, 50, 9);
  EXPECT_FALSE(at::equal(twice.project(0, x), twice.project(1, x)));
}

// E‖Δθ_t‖² = ‖θ_d‖² over the draw of (B, Π, G): averaged over 300 seeds within 5%, for tensors smaller
// than, equal to and larger than L, with d below and above D_t.
TEST(Fastfood, NormMatchesSpecScalingInExpectation) {
  const Fastfood::Shapes shapes{{"small", {24}}, {"pow2", {256}}, {"odd", {700}}, {"wide", {3000}}};
  for (int64_t d : {10, 100, 500}) {
    const auto x = randn(d, 77);
    const double x2 = x.to(at::kDouble).pow(2).sum().item<double>();
    std::vector<double> mean(shapes.size(), 0.0);
    const int seeds = 300;
    for (int s = 0; s < seeds; ++s) {
      Fastfood ff(shapes, d, 1000 + s);
      for (size_t i = 0; i < ff.size(); ++i) mean[i] += ff.project(i, x).to(at::kDouble).pow(2).sum().item<double>() / x2;
    }
    for (size_t i = 0; i < shapes.size(); ++i)
      EXPECT_NEAR(mean[i] / seeds, 1.0, 0.05) << shapes[i].first << " d=" << d;
  }
}

TEST(Fastfood, RejectsBadInput) {
  EXPECT_THROW(Fastfood(kShapes, 0, 1), InputError);
  Fastfood ff(kShapes, 5, 1);
  EXPECT_THROW(ff.project(0, at::zeros({4})), InputError);
  EXPECT_THROW(ff.transpose(0, at::zeros({19})), InputError);
  EXPECT_THROW(Fastfood({{"empty", {0, 3}}}, 5, 1), InputError);
}

}  // namespace
}  // namespace ps::said
