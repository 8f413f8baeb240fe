// The shared Adam (models/optim/adam.h): each option reproduces the update its user had before, bit for bit.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/optim/adam.h>

#include <cmath>

#include "models/optim/adam.h"

namespace {

using ps::optim::Adam;
using ps::optim::AdamOptions;
using ps::optim::Decay;

// A deterministic gradient that changes every step.
at::Tensor grad_at(int step, at::IntArrayRef shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return at::sin(at::arange(n, at::kFloat).reshape(shape) * double(step + 1));
}

TEST(SharedAdam, L2DecayMatchesTorchAdamExactly) {  // what the probes used
  const at::Tensor a0 = at::randn({3, 4}, at::TensorOptions().dtype(at::kFloat));
  at::Tensor a = a0.clone().requires_grad_(true), b = a0.clone().requires_grad_(true);
  torch::optim::Adam ref({b}, torch::optim::AdamOptions(0.01).weight_decay(0.1));
  Adam ours({{"", a, 1.0, true}}, AdamOptions{0.9, 0.999, 1e-8, 0.1, Decay::l2, false});
  for (int s = 0; s < 5; ++s) {
    a.mutable_grad() = grad_at(s, {3, 4});
    b.mutable_grad() = grad_at(s, {3, 4});
    ours.step(0.01);
    ref.step();
    EXPECT_TRUE(at::equal(a, b)) << "step " << s;
  }
}

TEST(SharedAdam, PerTensorRatesAndCorrectionInsideSqrt) {  // what SAID used
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8, lr = 0.5;
  at::Tensor x = at::zeros({2}), y = at::zeros({2});
  Adam adam({{"x", x, 0.1, false}, {"y", y, 1.0, false}}, AdamOptions{b1, b2, eps, 0, Decay::decoupled, true});
  at::Tensor m = at::zeros({2}), v = at::zeros({2}), want = at::zeros({2});
  for (int t = 1; t <= 3; ++t) {
    const at::Tensor g = at::full({2}, 0.5 * t);
    adam.step(lr, {g, at::Tensor()});  // y has no gradient: left as it is
    m.mul_(b1).add_(g, 1 - b1);
    v.mul_(b2).addcmul_(g, g, 1 - b2);
    const double c1 = 1 - std::pow(b1, t), c2 = 1 - std::pow(b2, t);
    want.addcdiv_(m, (v / c2).sqrt_().add_(eps), -(lr * 0.1) / c1);
  }
  EXPECT_TRUE(at::equal(x, want));
  EXPECT_TRUE(at::equal(y, at::zeros({2})));
  EXPECT_EQ(adam.steps(), 3);
  EXPECT_THROW(adam.step(lr, {at::Tensor()}), std::exception);
}

TEST(SharedAdam, StateRoundTripsByName) {
  at::Tensor w = at::ones({2, 2}).requires_grad_(true);
  Adam a({{"w", w, 1.0, true}}, AdamOptions{});
  w.mutable_grad() = at::ones({2, 2});
  a.step(0.1);
  a.zero_grad();
  EXPECT_FALSE(w.grad().defined());
  const auto st = a.state();
  ASSERT_EQ(st.count("exp_avg.w"), 1u);
  ASSERT_EQ(st.count("exp_avg_sq.w"), 1u);
  at::Tensor w2 = at::ones({2, 2});
  Adam b({{"w", w2, 1.0, true}}, AdamOptions{});
  b.load_state(st, a.steps(), "ckpt");
  EXPECT_EQ(b.steps(), 1);
  EXPECT_TRUE(at::equal(b.state().at("exp_avg.w"), st.at("exp_avg.w")));
  EXPECT_THROW(b.load_state({}, 1, "ckpt"), std::exception);
}

}  // namespace
