// AdamW against an update computed by hand with scalar arithmetic, the schedule's values, clipping.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>

#include "models/train/optim.h"

namespace {

using ps::train::AdamW;
using ps::train::AdamWOptions;

TEST(AdamW, MatchesHandComputedUpdates) {
  const double lr = 0.1, wd = 0.1, b1 = 0.9, b2 = 0.95, eps = 1e-8;
  auto w = at::tensor({1.0, -2.0}, at::kDouble).view({2, 1}).requires_grad_(true);  // matrix: decays
  auto b = at::tensor({0.5, 0.25}, at::kDouble).requires_grad_(true);               // bias: no decay
  AdamW opt({{"w", w}, {"b", b}}, AdamWOptions{b1, b2, eps, wd});
  const double g[2][2] = {{0.5, -1.0}, {0.1, 0.3}};  // step t, element i (same grads for w and b)
  double pw[2] = {1.0, -2.0}, pb[2] = {0.5, 0.25}, m[2] = {0, 0}, v[2] = {0, 0};
  for (int t = 1; t <= 2; ++t) {
    w.mutable_grad() = at::tensor({g[t - 1][0], g[t - 1][1]}, at::kDouble).view({2, 1});
    b.mutable_grad() = at::tensor({g[t - 1][0], g[t - 1][1]}, at::kDouble);
    opt.step(lr);
    const double bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
    for (int i = 0; i < 2; ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[t - 1][i];
      v[i] = b2 * v[i] + (1 - b2) * g[t - 1][i] * g[t - 1][i];
      const double upd = lr * (m[i] / bc1) / (std::sqrt(v[i] / bc2) + eps);
      pw[i] = pw[i] * (1 - lr * wd) - upd;
      pb[i] = pb[i] - upd;
    }
    for (int i = 0; i < 2; ++i) {
      EXPECT_NEAR(w[i][0].item<double>(), pw[i], 1e-12) << "step " << t;
      EXPECT_NEAR(b[i].item<double>(), pb[i], 1e-12) << "step " << t;
    }
  }
  // First step moves every element by lr in the sign of its gradient (m̂ / sqrt(v̂) = ±1), plus the decay.
  EXPECT_NEAR(pw[0], (1.0 * 0.99 - 0.1) * 0.99 - 0.1 * ((0.9 * 0.05 + 0.01) / 0.19) /
                         std::sqrt((0.95 * 0.05 * 0.25 + 0.05 * 0.01) / 0.0975), 1e-7);  // eps ignored here
  EXPECT_EQ(opt.steps(), 2);
  // State round trip.
  AdamW other({{"w", w.detach().clone().requires_grad_(true)}, {"b", b.detach().clone().requires_grad_(true)}},
              AdamWOptions{b1, b2, eps, wd});
  other.load_state(opt.state(), opt.steps(), "state");
  EXPECT_TRUE(at::equal(other.state().at("exp_avg_sq.w"), opt.state().at("exp_avg_sq.w")));
  EXPECT_EQ(other.steps(), 2);
}

TEST(AdamW, WeightDecayOnlyOnMatrices) {
  EXPECT_TRUE(ps::train::decays("blocks.0.attn.qkv.weight", at::zeros({4, 4})));
  EXPECT_TRUE(ps::train::decays("embed.tokens", at::zeros({10, 4})));
  EXPECT_FALSE(ps::train::decays("blocks.0.ln1.weight", at::zeros({4})));
  EXPECT_FALSE(ps::train::decays("blocks.0.attn.qkv.bias", at::zeros({12})));
}

TEST(Schedule, WarmupThenCosine) {
  const ps::train::Schedule s{1.0, 0.1, 10, 110};
  EXPECT_DOUBLE_EQ(s.at(0), 0.1);
  EXPECT_DOUBLE_EQ(s.at(4), 0.5);
  EXPECT_DOUBLE_EQ(s.at(9), 1.0);
  EXPECT_DOUBLE_EQ(s.at(10), 1.0);
  EXPECT_NEAR(s.at(60), 0.55, 1e-12);                  // half way down the cosine
  EXPECT_NEAR(s.at(35), 0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * 0.25)), 1e-12);
  EXPECT_NEAR(s.at(109), 0.1 + 0.45 * (1 + std::cos(M_PI * 0.99)), 1e-12);
  EXPECT_DOUBLE_EQ(s.at(500), 0.1);
  for (int i = 11; i < 110; ++i) EXPECT_LT(s.at(i), s.at(i - 1));
  const ps::train::Schedule no_warmup{2.0, 0.0, 0, 4};
  EXPECT_DOUBLE_EQ(no_warmup.at(0), 2.0);
  EXPECT_NEAR(no_warmup.at(2), 1.0, 1e-12);
}

TEST(ClipGradNorm, ScalesToMaxNorm) {
  auto a = at::zeros({2}, at::kDouble).requires_grad_(true);
  auto b = at::zeros({1, 1}, at::kDouble).requires_grad_(true);
  a.mutable_grad() = at::tensor({3.0, 0.0}, at::kDouble);
  b.mutable_grad() = at::tensor({4.0}, at::kDouble).view({1, 1});
  const std::map<std::string, at::Tensor> p{{"a", a}, {"b", b}};
  EXPECT_DOUBLE_EQ(ps::train::clip_grad_norm(p, 10.0), 5.0);  // under the limit: unchanged
  EXPECT_DOUBLE_EQ(a.grad()[0].item<double>(), 3.0);
  EXPECT_DOUBLE_EQ(ps::train::clip_grad_norm(p, 1.0), 5.0);
  EXPECT_NEAR(a.grad()[0].item<double>(), 0.6, 1e-6);
  EXPECT_NEAR(b.grad()[0][0].item<double>(), 0.8, 1e-6);
}

}  // namespace
