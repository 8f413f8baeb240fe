// SwiGLU's fused silu(gate) * up against LibTorch's silu and mul (float64 autograd as the reference), value
// and both gradients, float32 and bfloat16, an odd length for the scalar tail.
#include <gtest/gtest.h>
#include <ATen/ATen.h>

#include "models/transformer/detail/swiglu.h"

using namespace ps::models;

namespace {

double excess(const at::Tensor& got, const at::Tensor& want, double rel, double abs) {
  const auto g = got.to(at::kDouble), w = want.to(at::kDouble);
  return ((g - w).abs() - w.abs() * rel - abs).max().item<double>();
}

void check(at::ScalarType dtype, double rel, double abs) {
  const auto g0 = (at::randn({5, 1001}) * 4).to(dtype), u0 = at::randn({5, 1001}).to(dtype);
  const auto up = at::randn({5, 1001}).to(dtype);
  auto g = g0.clone().requires_grad_(true), u = u0.clone().requires_grad_(true);
  const auto y = silu_mul(g, u);
  y.mul(up).sum().backward();
  auto gd = g0.to(at::kDouble).requires_grad_(true), ud = u0.to(at::kDouble).requires_grad_(true);
  const auto yd = at::silu(gd) * ud;
  yd.mul(up.to(at::kDouble)).sum().backward();
  EXPECT_EQ(y.scalar_type(), dtype);
  EXPECT_LE(excess(y, yd, rel, abs), 0.0);
  EXPECT_LE(excess(g.grad(), gd.grad(), rel, abs), 0.0);
  EXPECT_LE(excess(u.grad(), ud.grad(), rel, abs), 0.0);
}

TEST(SiluMul, Float32MatchesLibTorch) { check(at::kFloat, 1e-5, 1e-6); }

// One rounding of an fp32 result (products of bf16 inputs): within two bf16 steps of the exact value.
TEST(SiluMul, BFloat16WithinTwoRoundingSteps) { check(at::kBFloat16, 2.0 / 128, 1e-6); }

TEST(SiluMul, FallsBackWhereTheKernelCannotRun) {
  auto g = at::randn({7}, at::kDouble).requires_grad_(true), u = at::randn({7}, at::kDouble);
  silu_mul(g, u).sum().backward();
  const auto gd = g.detach().clone().requires_grad_(true);
  (at::silu(gd) * u).sum().backward();
  EXPECT_TRUE(at::allclose(g.grad(), gd.grad()));
}

}  // namespace
