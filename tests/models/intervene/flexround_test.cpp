// FlexRound (spec interventions.md §5(d).2–6): at initialisation it is RTN bit for bit; the STE gradients of
// δ1, δ2, δ3 match the closed forms; on the planted single-linear problem it reaches ~0 reconstruction error
// where RTN cannot; after training every weight is on its grid; block k is reconstructed on the output of
// the already quantised blocks 0..k−1 (a fresh forward of the partially quantised model); and a run stopped
// after one block resumes to exactly the bytes of an uninterrupted run.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "models/intervene/flexround.h"
#include "models/intervene/intervene.h"
#include "models/intervene/quantize.h"
#include "models/optim/adam.h"
#include "models/safetensors/safetensors.h"
#include "models/transformer/transformer.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "tests/common/scratch.h"
#include "tests/models/transformer/tiny_models.h"

namespace {

namespace fs = std::filesystem;
using ps::models::FlexRoundWeight;

TEST(FlexRound, AtInitialisationItIsRtnExactly) {
  at::manual_seed(3);
  const auto w = at::randn({12, 20}) * 0.3;
  for (int bits : {2, 3, 4, 8})
    for (bool per_channel : {true, false})
      for (bool sym : {false, true}) {
        const FlexRoundWeight f(w, bits, per_channel, sym);
        const auto rtn = ps::models::rtn_quantize(w, bits, per_channel, sym);
        at::Tensor hat;
        {
          at::NoGradGuard g;
          hat = f.forward();
        }
        EXPECT_TRUE(at::equal(hat, rtn.dequant)) << bits << per_channel << sym;
        const auto fr = f.freeze();
        EXPECT_TRUE(at::equal(fr.codes, rtn.codes)) << bits;
        EXPECT_TRUE(at::equal(fr.dequant, rtn.dequant)) << bits;
        EXPECT_TRUE(at::equal(fr.grid.scale, rtn.grid.scale)) << bits;
      }
}

TEST(FlexRound, SteGradientsMatchTheClosedForms) {
  at::manual_seed(4);
  const auto w = at::randn({4, 8});
  FlexRoundWeight f(w, 3, true, false);
  {
    at::NoGradGuard g;  // move off the initial point; row 0's δ3 pushes it out of range, so some entries clamp
    f.delta2().copy_(at::randn({4, 8}) * 0.2);
    f.delta3().copy_(at::tensor({-0.9f, 0.1f, -0.05f, 0.2f}).reshape({4, 1}));
    f.delta1().add_(0.03);
  }
  const auto G = at::randn({4, 8});
  const auto hat = f.forward();
  (hat * G).sum().backward();

  at::NoGradGuard g;
  const auto s1 = f.delta1().exp(), S2 = f.delta2().exp(), s3 = f.delta3().exp();
  const auto x = at::round(w / (s1 * S2 * s3));
  const auto& grid = f.init_grid();
  const auto lo = -grid.zero_point, hi = double(grid.code_max()) - grid.zero_point;
  const auto unclamped = ((x >= lo) & (x <= hi)).to(at::kFloat);
  ASSERT_GT((1 - unclamped).sum().item<float>(), 0) << "the test needs clamped entries";
  ASSERT_GT(unclamped.sum().item<float>(), 0);
  const auto d2 = -G * w / (S2 * s3) * unclamped;
  EXPECT_TRUE(at::allclose(f.delta2().grad(), d2, 1e-5, 1e-6));
  EXPECT_TRUE(at::allclose(f.delta3().grad(), d2.sum(1, true), 1e-5, 1e-6));
  // δ1: the dequantisation term Σ G·Ŵ (every entry) plus the grid term (unclamped entries only).
  const auto d1 = (G * hat).sum(1, true) + d2.sum(1, true);
  EXPECT_TRUE(at::allclose(f.delta1().grad(), d1, 1e-5, 1e-6));
}

TEST(FlexRound, PlantedLinearReachesZeroErrorWhereRtnCannot) {
  // W_target on a 4-bit grid of step 2^-4 whose rows use codes 0 and 15 (so W's min/max grid is that grid);
  // W = W_target + 0.6 s on chosen interior entries, which RTN rounds to the wrong neighbour.
  at::manual_seed(5);
  const int64_t out = 6, in = 16;
  const double s = 1.0 / 16;
  auto codes = at::randint(2, 14, {out, in}).to(at::kFloat);
  codes.select(1, 0).fill_(0), codes.select(1, 1).fill_(15);
  const double zp = 7;
  const auto target = (codes - zp) * s;
  auto offset = at::zeros({out, in});
  for (int64_t i = 0; i < out; ++i)
    for (int64_t j = 3; j < in; j += 3) offset[i][j] = (i + j) % 2 ? 0.6 : -0.6;
  const auto w = target + offset * s;
  const auto X = at::randn({256, in});
  const auto Y = at::matmul(X, target.t());

  const auto rtn = ps::models::rtn_quantize(w, 4, true, false);
  const double rtn_err = ps::models::lp_loss(at::matmul(X, rtn.dequant.t()), Y).item<double>();
  EXPECT_GT(rtn_err, 1e-2);
  FlexRoundWeight f(w, 4, true, false);
  std::vector<ps::optim::AdamParam> params;
  for (const auto& p : f.parameters()) params.push_back({"", p, 1.0, false});
  ps::optim::Adam adam(params, {});
  const int iters = 600;
  for (int t = 0; t < iters; ++t) {
    const auto loss = ps::models::lp_loss(at::matmul(X, f.forward().t()), Y);
    loss.backward();
    adam.step(3e-3 * 0.5 * (1 + std::cos(M_PI * t / iters)));
    adam.zero_grad();
  }
  const auto q = f.freeze();
  const double err = ps::models::lp_loss(at::matmul(X, q.dequant.t()), Y).item<double>();
  EXPECT_LT(err, 1e-6 * rtn_err) << "FlexRound " << err << " vs RTN " << rtn_err;
  // On the grid it learned: integer multiples of exp(δ1) within the init zero-point's range.
  const auto ratio = q.dequant / q.grid.scale;
  EXPECT_LT((ratio - at::round(ratio)).abs().max().item<float>(), 1e-6);
  EXPECT_GE((ratio + q.grid.zero_point).min().item<float>(), 0);
  EXPECT_LE((ratio + q.grid.zero_point).max().item<float>(), 15);
}

// Random calibration ids for the tiny models.
std::vector<std::vector<int32_t>> random_calibration(int64_t n, int64_t len, uint64_t seed) {
  std::vector<std::vector<int32_t>> out(n);
  uint64_t x = seed * 2654435761u + 1;
  for (auto& s : out)
    for (int64_t i = 0; i < len; ++i) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      s.push_back(int32_t((x >> 33) % ps::test::kTinyVocab));
    }
  return out;
}

std::shared_ptr<ps::models::Transformer> tiny_model(ps::test::Tiny kind, int layers_seed) {
  const auto spec = ps::test::tiny_spec(kind, layers_seed);
  return ps::models::Transformer::from_weights(ps::models::parse_arch(spec.config_json, "tiny"), spec.tensors);
}

TEST(FlexRound, BlockKIsReconstructedOnTheQuantisedPrefixAndEndsOnItsGrid) {
  const auto model = tiny_model(ps::test::Tiny::LLaMA, 7);
  ps::models::FlexRoundRun run;
  run.spec = ps::models::parse_quantize_spec("flexround:bits=3,iters=40,batch=2");
  run.calibration = random_calibration(6, 12, 1);
  run.keys = ps::models::quantized_keys(model->arch(), run.spec);
  std::map<int64_t, at::Tensor> inputs;
  run.on_block_inputs = [&](int64_t b, const at::Tensor& x) { inputs[b] = x.clone(); };
  const auto r = ps::models::flexround_quantize(*model, run);
  ASSERT_TRUE(r.complete());
  ASSERT_EQ(inputs.size(), size_t(model->arch().n_layers));
  ASSERT_EQ(r.weights.size(), run.keys.size());

  std::vector<int64_t> flat;
  for (const auto& s : run.calibration) flat.insert(flat.end(), s.begin(), s.end());
  ps::models::ForwardInput in;
  in.input_ids = at::tensor(flat, at::kLong).reshape({6, 12});
  for (int64_t k = 0; k < model->arch().n_layers; ++k) {
    std::map<std::string, at::Tensor> prefix;
    for (const auto& [key, q] : r.weights)
      if (std::stoll(key.substr(7)) < k) prefix[key] = q.dequant;
    const auto partial = model->with_changes(model->arch(), prefix);
    const std::string hook = "blocks." + std::to_string(k) + ".hook_resid_pre";
    const auto fresh = partial->forward(in, {{hook}}).hooks.at(hook);
    EXPECT_TRUE(at::allclose(inputs.at(k), fresh, 1e-5, 1e-5)) << "block " << k;
    if (k > 0) {
      const auto fp = model->forward(in, {{hook}}).hooks.at(hook);
      EXPECT_GT((inputs.at(k) - fp).abs().max().item<float>(), 1e-4) << "block " << k << " saw full-precision inputs";
    }
  }
  for (const auto& rep : r.blocks) {
    EXPECT_LT(rep.loss_final, rep.loss_rtn) << "block " << rep.block;
    EXPECT_GT(rep.codes_changed, 0) << "block " << rep.block;
  }
  for (const auto& [key, q] : r.weights) {
    const auto ratio = q.dequant / q.grid.scale;
    EXPECT_LT((ratio - at::round(ratio)).abs().max().item<float>(), 1e-6) << key;
    EXPECT_TRUE(at::equal(at::round(ratio) + q.grid.zero_point, q.codes)) << key;
    EXPECT_GE(q.codes.min().item<float>(), 0) << key;
    EXPECT_LE(q.codes.max().item<float>(), 7) << key;
  }
}

std::string file_bytes(const std::string& p) { return ps::read_file(p); }

TEST(FlexRoundModel, StoppedAfterOneBlockResumesToTheUninterruptedBytes) {
  const auto dir = ps::test::scratch_dir("flex_resume");
  for (auto kind : {ps::test::Tiny::GPT2, ps::test::Tiny::RoBERTa}) {
    const std::string name = ps::test::tiny_name(kind);
    ps::models::InterveneOptions o;
    o.model_dir = (dir / (name + "_src")).string();
    ps::test::write_model(o.model_dir, ps::test::tiny_spec(kind, 5));
    o.quantize = ps::models::parse_quantize_spec("flexround:bits=4,iters=12,seed=3");
    o.quantize_run.calibration = random_calibration(5, 10, 2);
    o.out_dir = (dir / (name + "_whole")).string();
    const auto whole = ps::models::intervene(o);
    ASSERT_TRUE(whole.complete);

    o.out_dir = (dir / (name + "_stopped")).string();
    o.quantize_run.stop_after_blocks = 1;
    const auto first = ps::models::intervene(o);
    EXPECT_FALSE(first.complete);
    EXPECT_EQ(first.blocks_done, 1);
    EXPECT_EQ(first.blocks_total, 2);
    EXPECT_FALSE(fs::exists(o.out_dir)) << "nothing is written before every block is done";
    const fs::path work = dir / ("." + name + "_stopped.quantize-work");
    EXPECT_TRUE(fs::exists(work / "state.json"));
    o.quantize_run.stop_after_blocks = 0;
    const auto second = ps::models::intervene(o);
    ASSERT_TRUE(second.complete);
    EXPECT_FALSE(fs::exists(work)) << "the work dir goes once the model is written";
    for (const char* f : {"model.safetensors", "quantization.safetensors", "config.json"})
      EXPECT_EQ(file_bytes(whole.out_dir + "/" + f), file_bytes(second.out_dir + "/" + f)) << name << " " << f;
    const auto rec = nlohmann::json::parse(ps::read_file(second.out_dir + "/probescope_intervention.json"));
    const auto& fr = rec["interventions"][0]["flexround"];
    EXPECT_EQ(fr["blocks"].size(), 2u);
    EXPECT_EQ(fr["calibration_sequences"], 5);
    EXPECT_EQ(fr["seqlen"], 10);
    // And the written model loads.
    const auto m = ps::models::Transformer::load(second.out_dir);
    EXPECT_EQ(m->arch().n_layers, 2);
  }
}

TEST(FlexRoundModel, AStateForOtherSettingsIsDiscarded) {
  const auto dir = ps::test::scratch_dir("flex_discard");
  ps::models::InterveneOptions o;
  o.model_dir = (dir / "src").string();
  ps::test::write_model(o.model_dir, ps::test::tiny_spec(ps::test::Tiny::LLaMA, 5));
  o.out_dir = (dir / "out").string();
  o.quantize = ps::models::parse_quantize_spec("flexround:bits=4,iters=5");
  o.quantize_run.calibration = random_calibration(4, 8, 2);
  o.quantize_run.stop_after_blocks = 1;
  EXPECT_FALSE(ps::models::intervene(o).complete);
  // Different bits: the saved block must not be reused.
  o.quantize = ps::models::parse_quantize_spec("flexround:bits=3,iters=5");
  o.quantize_run.stop_after_blocks = 0;
  ASSERT_TRUE(ps::models::intervene(o).complete);
  ps::models::InterveneOptions fresh = o;
  fresh.out_dir = (dir / "fresh").string();
  ASSERT_TRUE(ps::models::intervene(fresh).complete);
  EXPECT_EQ(file_bytes(o.out_dir + "/model.safetensors"), file_bytes(fresh.out_dir + "/model.safetensors"));
}

}  // namespace
