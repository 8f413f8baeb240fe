// The fused LM loss against LibTorch's log_softmax + nll (float64 reference): value and gradient, float32
// and bfloat16 logits, ignored rows, an odd vocabulary (scalar tails), and a bad target.
#include <gtest/gtest.h>
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include "models/transformer/cross_entropy.h"

using namespace ps::models;

namespace {

struct Case {
  at::Tensor logits, targets;
};

Case make(int64_t n, int64_t v, at::ScalarType dtype, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto logits = (at::randn({n, v}, gen, at::TensorOptions().dtype(at::kFloat)) * 4).to(dtype);
  auto targets = at::randint(0, v, {n}, gen, at::TensorOptions().dtype(at::kLong));
  targets.index_put_({at::arange(0, n, 3)}, -100);  // every third row is not a target
  return {logits, targets};
}

double reference_loss(const Case& c) {
  return at::cross_entropy_loss(c.logits.to(at::kDouble), c.targets, {}, at::Reduction::Sum, -100).item<double>();
}

at::Tensor reference_grad(const Case& c, double scale) {
  auto x = c.logits.to(at::kDouble).requires_grad_(true);
  (at::cross_entropy_loss(x, c.targets, {}, at::Reduction::Sum, -100) * scale).backward();
  return x.grad();
}

TEST(CrossEntropySum, Float32MatchesLibTorch) {
  for (int64_t v : {4096, 1003, 5}) {
    const auto c = make(67, v, at::kFloat, 11 + uint64_t(v));
    const double ref = reference_loss(c);
    EXPECT_NEAR(cross_entropy_sum(c.logits, c.targets).item<double>(), ref, 2e-6 * std::abs(ref)) << "V " << v;
    auto x = c.logits.clone().requires_grad_(true);
    (cross_entropy_sum(x, c.targets) * 0.25).backward();
    // Entries lie in [-0.25, 0.25]; fp32 rounding of exp and of a 4096-term sum is ~1e-6 relative.
    EXPECT_LE((x.grad().to(at::kDouble) - reference_grad(c, 0.25)).abs().max().item<double>(), 5e-7) << "V " << v;
  }
}

TEST(CrossEntropySum, BFloat16LogitsScoreInFloat32) {
  const auto c = make(64, 4096, at::kBFloat16, 5);
  const double ref = reference_loss(c);  // the same bf16 values, exactly, in float64
  EXPECT_NEAR(cross_entropy_sum(c.logits, c.targets).item<double>(), ref, 2e-6 * std::abs(ref));
  auto x = c.logits.clone().requires_grad_(true);
  (cross_entropy_sum(x, c.targets) / 40.0).backward();
  EXPECT_EQ(x.grad().scalar_type(), at::kBFloat16);
  const auto exact = reference_grad(c, 1.0 / 40);
  // Each entry is rounded to bf16 once, then scaled and rounded again: two steps of 2^-8 relative.
  const auto err = (x.grad().to(at::kDouble) - exact).abs() - exact.abs() * (2.0 / 256) - 1e-30;
  EXPECT_LE(err.max().item<double>(), 0.0);
}

TEST(CrossEntropySum, IgnoredRowsGetNoLossAndNoGradient) {
  auto c = make(6, 50, at::kFloat, 3);
  c.targets.fill_(-100);
  auto x = c.logits.clone().requires_grad_(true);
  auto loss = cross_entropy_sum(x, c.targets);
  EXPECT_EQ(loss.item<double>(), 0.0);
  loss.backward();
  EXPECT_EQ(x.grad().abs().sum().item<double>(), 0.0);
}

TEST(CrossEntropySum, SameValueForAnyThreadCount) {
  const auto c = make(500, 777, at::kFloat, 9);
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const double one = cross_entropy_sum(c.logits, c.targets).item<double>();
  at::set_num_threads(2);
  const double two = cross_entropy_sum(c.logits, c.targets).item<double>();
  at::set_num_threads(threads);
  EXPECT_EQ(one, two);
}

TEST(CrossEntropySum, ATargetOutsideTheVocabularyIsAnError) {
  auto c = make(4, 10, at::kFloat, 1);
  c.targets[2] = 10;
  try {
    cross_entropy_sum(c.logits, c.targets);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("target 10 at row 2"), std::string::npos) << e.what();
  }
}

}  // namespace
