// The fused rotary embedding against the LibTorch expression it replaces (x*cos + rotate_half(x)*sin, float64
// autograd as the reference): value and gradient, float32 and bfloat16, cos/sin broadcast over a batch, the
// output dtype with and without bf16 autocast, and the fallback.
#include <gtest/gtest.h>
#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>

#include <algorithm>

#include "models/transformer/detail/rope_kernel.h"
#include "models/transformer/detail/rotary.h"

using namespace ps::models;

namespace {

at::Tensor reference(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  const auto rot = at::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);
  return x * cos.unsqueeze(-2) + rot * sin.unsqueeze(-2);
}

double excess(const at::Tensor& got, const at::Tensor& want, double rel, double abs) {
  const auto g = got.to(at::kDouble), w = want.to(at::kDouble);
  return ((g - w).abs() - w.abs() * rel - abs).max().item<double>();
}

// Tables as rope_cos_sin builds them: the angle repeated over both halves, here with an attention factor.
std::pair<at::Tensor, at::Tensor> tables(int64_t B, int64_t S, int64_t hd) {
  const auto inv = at::pow(10000.0, -at::arange(0, hd, 2, at::kDouble) / double(hd));
  const auto ang = at::arange(S, at::kDouble).unsqueeze(-1) * inv;
  const auto emb = at::cat({ang, ang}, -1).unsqueeze(0).expand({B, S, hd});
  return {emb.cos() * 1.1, emb.sin() * 1.1};
}

void check(at::ScalarType x_dtype, at::ScalarType table_dtype, int64_t hd, double rel, double abs) {
  const int64_t B = 2, S = 37, H = 3;
  auto [cd, sd] = tables(B, S, hd);
  const auto cos = cd.to(table_dtype), sin = sd.to(table_dtype);
  const auto x0 = at::randn({B, S, H, hd}).to(x_dtype), probe = at::randn({B, S, H, hd});
  auto x = x0.clone().requires_grad_(true);
  ASSERT_TRUE(rope_fused_applies(x, cos, sin));
  const auto y = apply_rope(x, cos, sin);
  EXPECT_EQ(y.scalar_type(), at::promote_types(x_dtype, table_dtype));
  (y.to(at::kFloat) * probe).sum().backward();
  auto xd = x0.to(at::kDouble).requires_grad_(true);
  const auto yd = reference(xd, cos.to(at::kDouble), sin.to(at::kDouble));
  (yd * probe.to(at::kDouble)).sum().backward();
  EXPECT_LE(excess(y, yd, rel, abs), 0.0) << hd;
  EXPECT_EQ(x.grad().scalar_type(), x_dtype);
  // The gradient is stored in x's dtype: one more rounding for bf16 x.
  const double grad_rel = x_dtype == at::kBFloat16 ? std::max(rel, 1.0 / 128) : rel;
  EXPECT_LE(excess(x.grad(), xd.grad(), grad_rel, abs), 0.0) << hd;
}

TEST(RopeFused, Float32MatchesTheLibTorchExpression) {
  check(at::kFloat, at::kFloat, 64, 1e-6, 1e-6);
  check(at::kFloat, at::kFloat, 20, 1e-6, 1e-6);  // half = 10: a vector of 8 and a scalar tail
}

// bf16 q with fp32 tables (the training path): promoted to fp32 as LibTorch would, one fp32 rounding.
TEST(RopeFused, BFloat16InputWithFloat32Tables) { check(at::kBFloat16, at::kFloat, 32, 1e-6, 1e-6); }

// All bf16 (a bf16 model's inference): one rounding, where the unfused expression rounded three times.
TEST(RopeFused, BFloat16WithinOneRoundingStep) { check(at::kBFloat16, at::kBFloat16, 32, 1.0 / 128, 1e-2); }

TEST(RopeFused, BroadcastsTablesOverTheBatch) {
  auto [cd, sd] = tables(1, 9, 16);
  const auto cos = cd.to(at::kFloat), sin = sd.to(at::kFloat);
  const auto x = at::randn({4, 9, 2, 16});
  ASSERT_TRUE(rope_fused_applies(x, cos, sin));
  EXPECT_LE(excess(apply_rope(x, cos, sin), reference(x, cos, sin), 1e-6, 1e-6), 0.0);
  // A table that does not broadcast to x's leading shape is left to LibTorch (which then reports it).
  EXPECT_FALSE(rope_fused_applies(x, at::ones({5, 16}), at::ones({5, 16})));
}

TEST(RopeFused, UnderBFloat16AutocastABFloat16QueryStaysBFloat16) {
  auto [cd, sd] = tables(1, 5, 8);
  const auto x = at::randn({1, 5, 2, 8}).to(at::kBFloat16).requires_grad_(true);
  const bool before = at::autocast::is_cpu_enabled();
  at::autocast::set_cpu_enabled(true);
  at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  const auto y = apply_rope(x, cd.to(at::kFloat), sd.to(at::kFloat));
  at::autocast::set_cpu_enabled(before);
  EXPECT_EQ(y.scalar_type(), at::kBFloat16);
  // The value the attention matmul's autocast cast would have produced from the fp32 result.
  const auto want = reference(x.detach().to(at::kFloat), cd.to(at::kFloat), sd.to(at::kFloat)).to(at::kBFloat16);
  EXPECT_LE(excess(y, want, 1.0 / 256, 1e-6), 0.0);
  y.to(at::kFloat).sum().backward();
  EXPECT_EQ(x.grad().scalar_type(), at::kBFloat16);
}

TEST(RopeFused, RefusesWhatItCannotDo) {
  const auto c = at::ones({3, 8}), s = at::ones({3, 8});
  EXPECT_FALSE(rope_fused_applies(at::ones({3, 2, 8}, at::kDouble), c.to(at::kDouble), s.to(at::kDouble)));
  EXPECT_FALSE(rope_fused_applies(at::ones({3, 2, 7}), at::ones({3, 7}), at::ones({3, 7})));  // odd head_dim
  EXPECT_FALSE(rope_fused_applies(at::ones({3, 2, 8}), c.requires_grad_(true), s));
  // The fallback still rotates: double goes through LibTorch's expression.
  const auto x = at::randn({3, 2, 8}, at::kDouble);
  auto [cd, sd] = tables(1, 3, 8);
  EXPECT_TRUE(at::allclose(apply_rope(x, cd[0], sd[0]), reference(x, cd[0], sd[0])));
}

}  // namespace
