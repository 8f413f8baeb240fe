// The fused attention softmax against the LibTorch sequence it replaces (to fp32, scale, masked_fill with
// the lowest float, softmax, cast back): causal, windowed and free masks, odd lengths, a fully blocked row.
#include <gtest/gtest.h>
#include <ATen/ATen.h>

#include <limits>

#include "models/transformer/detail/masked_softmax.h"

using namespace ps::models;

namespace {

at::Tensor reference(const at::Tensor& scores, const at::Tensor& blocked, double scale) {
  auto s = scores.to(at::kFloat).mul_(scale);
  s.masked_fill_(blocked, std::numeric_limits<float>::lowest());
  return at::softmax(s, -1).to(scores.scalar_type());
}

void check(at::ScalarType dtype, int64_t h, int64_t n, const at::Tensor& blocked, double scale) {
  const auto scores = (at::randn({h, n, blocked.size(2)}) * 6).to(dtype);
  ASSERT_TRUE(masked_softmax_applies(scores, blocked)) << "no AVX2/FMA here?";
  const auto got = masked_softmax(scores, blocked, scale);
  const auto want = reference(scores, blocked, scale);
  EXPECT_EQ(got.scalar_type(), dtype);
  // fp32: both compute the same fp32 softmax with different exp code (~1 ulp); bf16: at most one rounding step.
  const double tol = dtype == at::kFloat ? 2e-6 : 1.0 / 128;
  const auto err = (got.to(at::kDouble) - want.to(at::kDouble)).abs() - want.to(at::kDouble).abs() * tol - 1e-9;
  EXPECT_LE(err.max().item<double>(), 0.0) << "n " << n;
  // Blocked entries are exactly zero, as LibTorch's exp underflows them.
  EXPECT_EQ(got.masked_select(blocked.expand_as(got)).abs().sum().item<double>(), 0.0);
}

TEST(MaskedSoftmax, CausalMatchesLibTorch) {
  for (auto dtype : {at::kFloat, at::kBFloat16})
    for (int64_t n : {1, 7, 8, 64, 131})
      check(dtype, 3, n, at::ones({n, n}, at::kBool).triu(1).unsqueeze(0), 0.125);
}

TEST(MaskedSoftmax, WindowAndFreeMasks) {
  const int64_t n = 45;
  const auto i = at::arange(n).unsqueeze(1), j = at::arange(n).unsqueeze(0);
  check(at::kBFloat16, 2, n, ((i - j) >= 8).logical_or(j > i).unsqueeze(0), 0.3);
  check(at::kFloat, 2, n, at::zeros({1, n, n}, at::kBool), 1.0);
}

TEST(MaskedSoftmax, AFullyBlockedRowIsUniformAsInLibTorch) {
  auto blocked = at::zeros({1, 5, 9}, at::kBool);
  blocked[0][2].fill_(true);
  const auto scores = at::randn({1, 5, 9});
  const auto got = masked_softmax(scores, blocked, 0.5);
  EXPECT_TRUE(at::allclose(got, reference(scores, blocked, 0.5), 2e-6, 1e-9));
  EXPECT_TRUE(at::allclose(got[0][2], at::full({9}, 1.0f / 9)));
}

TEST(MaskedSoftmax, RefusesWhatItCannotDo) {
  const auto blocked = at::zeros({1, 4, 4}, at::kBool);
  EXPECT_FALSE(masked_softmax_applies(at::randn({2, 4, 4}, at::kDouble), blocked));
  EXPECT_FALSE(masked_softmax_applies(at::randn({2, 4, 4}).transpose(1, 2), blocked));
  EXPECT_FALSE(masked_softmax_applies(at::randn({2, 4, 5}), blocked));
}

// Training's variant: scores [B·heads, n, m] against a per-batch mask [B, n, m], value and gradient against
// float64 autograd of the LibTorch chain (masked_fill's gradient is 0 where blocked).
void check_grad(at::ScalarType dtype, double rel, double abs) {
  const int64_t B = 2, H = 3, n = 13, m = 13;
  auto blocked = at::ones({n, m}, at::kBool).triu(1).unsqueeze(0).repeat({B, 1, 1});
  blocked[1].slice(1, 0, 4).fill_(true);  // batch row 1 also hides its first keys (padding on the left)
  blocked[1].slice(0, 0, 4).fill_(true);
  blocked[1].slice(0, 0, 4).diagonal().fill_(false);  // repaired rows attend to themselves, as in training
  const auto s0 = (at::randn({B * H, n, m}) * 4).to(dtype), probe = at::randn({B * H, n, m});
  auto s = s0.clone().requires_grad_(true);
  ASSERT_TRUE(masked_softmax_applies(s, blocked));
  const auto p = masked_softmax_autograd(s, blocked, 0.25);
  (p.to(at::kFloat) * probe).sum().backward();
  auto sd = s0.to(at::kDouble).requires_grad_(true);
  const auto bl = blocked.repeat_interleave(H, 0);
  const auto pd = at::softmax((sd * 0.25).masked_fill(bl, std::numeric_limits<double>::lowest()), -1);
  (pd * probe.to(at::kDouble)).sum().backward();
  EXPECT_EQ(p.scalar_type(), dtype);
  auto excess = [&](const at::Tensor& got, const at::Tensor& want) {
    const auto g = got.to(at::kDouble), w = want.to(at::kDouble);
    return ((g - w).abs() - w.abs() * rel - abs).max().item<double>();
  };
  EXPECT_LE(excess(p, pd), 0.0);
  EXPECT_LE(excess(s.grad(), sd.grad()), 0.0);
  EXPECT_TRUE(s.grad().masked_select(bl).eq(0).all().item<bool>());
}

TEST(MaskedSoftmax, GradientMatchesFloat64Autograd) {
  check_grad(at::kFloat, 1e-5, 1e-6);
  check_grad(at::kBFloat16, 3.0 / 128, 2e-3);
}

}  // namespace
