// The one-pass norms against the LibTorch expressions the Transformer used before them (and still uses when
// they cannot run): LayerNorm with and without bias, HF's RMSNorm with its two roundings, fp32 and bf16, odd d.
#include <gtest/gtest.h>
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "models/transformer/detail/fast_norm.h"

using namespace ps::models;

namespace {

at::Tensor ref_layer_norm(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, double eps) {
  return at::layer_norm(x.to(at::kDouble), {x.size(-1)}, w.to(at::kDouble), b.defined() ? b.to(at::kDouble) : b, eps);
}

at::Tensor ref_rms(const at::Tensor& x, const at::Tensor& w, double eps) {  // HF LlamaRMSNorm, as transformer.cpp
  const auto xf = x.to(at::kFloat);
  return w * (xf * at::rsqrt(xf.pow(2).mean(-1, true) + eps)).to(x.scalar_type());
}

double rel_excess(const at::Tensor& got, const at::Tensor& want, double rel, double abs) {
  const auto g = got.to(at::kDouble), w = want.to(at::kDouble);
  return ((g - w).abs() - w.abs() * rel - abs).max().item<double>();
}

TEST(FastNorm, LayerNormMatchesLibTorch) {
  for (int64_t d : {768, 190, 5}) {
    const auto x = at::randn({37, d}) * 3 + 1.5;
    const auto w = at::randn({d}), b = at::randn({d});
    ASSERT_TRUE(fast_norm_applies(x, w, b)) << "no AVX2/FMA here?";
    EXPECT_LE(rel_excess(layer_norm_fast(x, w, b, 1e-5), ref_layer_norm(x, w, b, 1e-5), 0, 2e-5), 0.0) << d;
    EXPECT_LE(rel_excess(layer_norm_fast(x, w, at::Tensor(), 1e-5), ref_layer_norm(x, w, at::Tensor(), 1e-5), 0, 2e-5), 0.0);
    // bf16: the Transformer's reference is layer_norm in fp32 cast back; ours rounds once, so within one step.
    const auto xb = x.to(at::kBFloat16), wb = w.to(at::kBFloat16), bb = b.to(at::kBFloat16);
    const auto want = at::layer_norm(xb.to(at::kFloat), {d}, wb.to(at::kFloat), bb.to(at::kFloat), 1e-5).to(at::kBFloat16);
    const auto got = layer_norm_fast(xb, wb, bb, 1e-5);
    EXPECT_EQ(got.scalar_type(), at::kBFloat16);
    EXPECT_LE(rel_excess(got, want, 1.0 / 128, 1e-6), 0.0) << d;
  }
}

TEST(FastNorm, RmsNormMatchesHuggingFacesExpression) {
  for (int64_t d : {512, 77}) {
    const auto x = at::randn({3, 11, d}) * 2;
    const auto w = at::randn({d});
    EXPECT_LE(rel_excess(rms_norm_fast(x, w, 1e-6), ref_rms(x, w, 1e-6), 1e-6, 1e-7), 0.0) << d;
    const auto xb = x.to(at::kBFloat16), wb = w.to(at::kBFloat16);
    const auto got = rms_norm_fast(xb, wb, 1e-6), want = ref_rms(xb, wb, 1e-6);
    // The same roundings in the same places: equal but for an fp32 last-bit difference in the statistic.
    const double same = got.eq(want).to(at::kDouble).mean().item<double>();
    EXPECT_GE(same, 0.99) << d;
    EXPECT_LE(rel_excess(got, want, 1.0 / 128, 1e-6), 0.0) << d;
  }
}

TEST(FastNorm, RefusesWhatItCannotDo) {
  const auto w = at::ones({4}), b = at::zeros({4});
  EXPECT_FALSE(fast_norm_applies(at::ones({2, 4}).requires_grad_(true), w, b));  // training keeps LibTorch's
  EXPECT_FALSE(fast_norm_applies(at::ones({2, 4}), at::ones({4}).requires_grad_(true), b));
  EXPECT_FALSE(fast_norm_applies(at::ones({2, 4}, at::kDouble), w.to(at::kDouble), b.to(at::kDouble)));
  EXPECT_FALSE(fast_norm_applies(at::ones({2, 4}).to(at::kBFloat16), w, b));  // mixed dtypes
  EXPECT_FALSE(fast_norm_applies(at::ones({4, 2}).t(), w, b));
}

// Training's RMSNorm: value and both gradients against float64 autograd of HF's expression; 300 rows span
// three of the backward's row blocks, and an odd d takes the scalar tails.
void check_rms_grad(at::ScalarType dtype, int64_t d, double rel, double abs) {
  const auto x0 = (at::randn({3, 100, d}) * 2 + 0.3).to(dtype), w0 = (at::randn({d}) + 1).to(dtype);
  const auto probe = at::randn({3, 100, d});  // a loss that weighs every output differently
  auto x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
  ASSERT_TRUE(rms_norm_grad_applies(x, w));
  const auto y = rms_norm_autograd(x, w, 1e-5);
  (y.to(at::kFloat) * probe).sum().backward();
  auto xd = x0.to(at::kDouble).requires_grad_(true), wd = w0.to(at::kDouble).requires_grad_(true);
  const auto yd = wd * (xd * at::rsqrt(xd.pow(2).mean(-1, true) + 1e-5));
  (yd * probe.to(at::kDouble)).sum().backward();
  EXPECT_EQ(y.scalar_type(), dtype);
  EXPECT_EQ(x.grad().scalar_type(), dtype);
  EXPECT_LE(rel_excess(y, yd, rel, abs), 0.0) << d;
  EXPECT_LE(rel_excess(x.grad(), xd.grad(), rel, abs * 10), 0.0) << d;
  // dw sums 300 rows: compare against its scale, not elementwise near-cancellations.
  const double dw_scale = wd.grad().abs().max().item<double>();
  EXPECT_LE(rel_excess(w.grad(), wd.grad(), 0, dw_scale * rel), 0.0) << d;
}

TEST(FastNorm, RmsNormGradientsMatchFloat64Autograd) {
  check_rms_grad(at::kFloat, 256, 1e-5, 1e-5);
  check_rms_grad(at::kFloat, 77, 1e-5, 1e-5);
  // bf16 in and out: each result one rounding of an fp32 value, dx through the rounded dy.
  check_rms_grad(at::kBFloat16, 256, 3.0 / 128, 1e-3);
}

TEST(FastNorm, RmsNormWeightGradientIsTheSameForAnyThreadCount) {
  const auto x0 = at::randn({1000, 64}), w0 = at::randn({64}), g = at::randn({1000, 64});
  auto grad_w = [&](int threads) {
    const int before = at::get_num_threads();
    at::set_num_threads(threads);
    auto x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
    (rms_norm_autograd(x, w, 1e-6) * g).sum().backward();
    at::set_num_threads(before);
    return w.grad();
  };
  EXPECT_TRUE(at::equal(grad_w(1), grad_w(2)));
}

TEST(FastNorm, RmsNormGradRefusesWhatItCannotDo) {
  EXPECT_FALSE(rms_norm_grad_applies(at::ones({2, 4}, at::kDouble), at::ones({4}, at::kDouble)));
  EXPECT_FALSE(rms_norm_grad_applies(at::ones({2, 4}), at::ones({4}).to(at::kBFloat16)));
  EXPECT_FALSE(rms_norm_grad_applies(at::ones({4, 2}).t(), at::ones({2})));
  EXPECT_FALSE(rms_norm_grad_applies(at::ones({2, 4}), at::ones({5})));
}

}  // namespace
