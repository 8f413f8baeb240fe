// The one-pass GELU (tanh form) against LibTorch's own, in float32 and bfloat16, across the whole range.
#include <gtest/gtest.h>
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "models/transformer/detail/fast_gelu.h"

using namespace ps::models;

namespace {

at::Tensor inputs() {
  // A dense sweep through the curved part, big magnitudes where it saturates, zero, and an odd length
  // so the scalar tail runs too.
  return at::cat({at::linspace(-12, 12, 20001), at::randn({4099}, at::TensorOptions().dtype(at::kFloat)) * 3,
                  at::tensor({0.0f, -0.0f, 1e-30f, -1e-30f, 80.0f, -80.0f, 1e4f, -1e4f})});
}

TEST(FastGelu, MatchesLibTorchInFloat32) {
  const auto x = inputs();
  if (!gelu_tanh_fast_applies(x)) GTEST_SKIP() << "no AVX2/FMA on this CPU";
  const auto ref = at::gelu(x.to(at::kDouble), "tanh");
  const auto got = gelu_tanh_fast(x).to(at::kDouble);
  // Absolute error near zero, relative elsewhere: float32's own rounding is ~6e-8.
  const auto err = (got - ref).abs() / (ref.abs() + 1e-3);
  EXPECT_LE(err.max().item<double>(), 2e-6);
  EXPECT_EQ(at::gelu(x, "tanh").sizes(), gelu_tanh_fast(x).sizes());
}

TEST(FastGelu, BFloat16WithinOneRoundingStep) {
  const auto x = inputs().to(at::kBFloat16);
  if (!gelu_tanh_fast_applies(x)) GTEST_SKIP() << "no AVX2/FMA on this CPU";
  const auto exact = at::gelu(x.to(at::kDouble), "tanh");
  const auto got = gelu_tanh_fast(x).to(at::kDouble);
  // bf16 keeps 8 significant bits: one step is 2^-7 of the value at most.
  const auto err = (got - exact).abs() - exact.abs() * (1.0 / 128) - 1e-12;  // floor: far-negative tail ~1e-16
  EXPECT_LE(err.max().item<double>(), 0.0);
  EXPECT_EQ(gelu_tanh_fast(x).scalar_type(), at::kBFloat16);
}

TEST(FastGelu, RefusesWhatItCannotDo) {
  EXPECT_FALSE(gelu_tanh_fast_applies(at::ones({4}, at::kDouble)));
  EXPECT_FALSE(gelu_tanh_fast_applies(at::ones({4, 4}).t().slice(0, 0, 2)));  // not contiguous
  EXPECT_FALSE(gelu_tanh_fast_applies(at::ones({4}).requires_grad_(true)));
}

}  // namespace

namespace {

// Training goes through gelu_tanh: its gradient must be LibTorch's (float64 autograd as the reference).
TEST(FastGelu, GradientMatchesLibTorchInFloat32) {
  const auto x0 = inputs();
  if (!gelu_tanh_fast_applies(x0)) GTEST_SKIP() << "no AVX2/FMA on this CPU";
  const auto up = at::randn(x0.sizes(), at::TensorOptions().dtype(at::kFloat));
  auto x = x0.clone().requires_grad_(true);
  gelu_tanh(x).mul(up).sum().backward();
  const auto ref = at::gelu_backward(up.to(at::kDouble), x0.to(at::kDouble), "tanh");
  // Error in the derivative itself (the product's relative error is unbounded where gelu' crosses 0 near -0.75);
  // gelu' lies in [-0.13, 1.13], and fp32 cancellation in s + 2x s(1-s) z' costs a few ulps.
  const auto err = (x.grad().to(at::kDouble) - ref).abs() / (up.to(at::kDouble).abs() + 1e-6);
  EXPECT_LE(err.max().item<double>(), 2e-6);
}

TEST(FastGelu, GradientInBFloat16WithinTwoRoundingSteps) {
  const auto x0 = inputs().to(at::kBFloat16);
  if (!gelu_tanh_fast_applies(x0)) GTEST_SKIP() << "no AVX2/FMA on this CPU";
  const auto up = at::randn(x0.sizes(), at::TensorOptions().dtype(at::kFloat)).to(at::kBFloat16);
  auto x = x0.clone().requires_grad_(true);
  gelu_tanh(x).mul(up).sum().backward();
  EXPECT_EQ(x.grad().scalar_type(), at::kBFloat16);
  const auto exact = at::gelu_backward(up.to(at::kDouble), x0.to(at::kDouble), "tanh");
  // The product is computed in fp32 from bf16 inputs and rounded once.
  const auto err = (x.grad().to(at::kDouble) - exact).abs() - exact.abs() * (1.0 / 128) - 1e-12;
  EXPECT_LE(err.max().item<double>(), 0.0);
}

TEST(FastGelu, TrainableFormFallsBackWhereTheKernelCannotRun) {
  auto x = at::linspace(-3, 3, 7, at::TensorOptions().dtype(at::kDouble)).requires_grad_(true);
  gelu_tanh(x).sum().backward();
  const auto ref = at::gelu_backward(at::ones({7}, at::kDouble), x.detach(), "tanh");
  EXPECT_TRUE(at::allclose(x.grad(), ref, 1e-12, 1e-12));
}

}  // namespace

// Chunk edges fall on multiples of 8, so the scalar tail runs only at the end: the same bits at any thread count.
TEST(FastGelu, SameBitsAtEveryThreadCount) {
  const auto x0 = at::randn({100003}, at::TensorOptions().dtype(at::kFloat)) * 4;
  if (!gelu_tanh_fast_applies(x0)) GTEST_SKIP() << "no AVX2/FMA on this CPU";
  const auto up = at::randn(x0.sizes(), at::TensorOptions().dtype(at::kFloat));
  const int threads = at::get_num_threads();
  at::Tensor y1, g1;
  for (int t : {1, 2, 3, 5}) {
    at::set_num_threads(t);
    auto x = x0.clone().requires_grad_(true);
    const auto y = gelu_tanh(x);
    y.mul(up).sum().backward();
    if (!y1.defined()) {
      y1 = y.detach(), g1 = x.grad();
      continue;
    }
    EXPECT_TRUE(at::equal(y.detach(), y1)) << t << " threads";
    EXPECT_TRUE(at::equal(x.grad(), g1)) << t << " threads";
  }
  at::set_num_threads(threads);
}
