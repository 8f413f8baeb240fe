// Round-to-nearest quantisation (spec interventions.md §5(d).1): the s/2 bound inside [min, max], idempotence
// on a fixed grid, codes in range; and whole models written by `intervene --quantize rtn:...` for the three
// families: unquantised tensors byte for byte, model.safetensors == (codes − zp)·scale along the right axis
// (GPT-2's Conv1D: dim 1), and the result loads and runs. Bad specs are one-line errors naming --quantize.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "models/intervene/intervene.h"
#include "models/intervene/quantize_rtn.h"
#include "models/intervene/quantize_spec.h"
#include "models/open/open_model.h"
#include "models/safetensors/safetensors.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "tests/common/scratch.h"
#include "tests/models/transformer/tiny_models.h"

namespace {

namespace fs = std::filesystem;

// Rows of every kind: mixed signs, all positive, all negative, constant zero, one large outlier.
at::Tensor test_weight() {
  at::manual_seed(11);
  auto w = at::randn({8, 40});
  w[1] = w[1].abs() + 0.1;
  w[2] = -w[2].abs() - 0.2;
  w[3].zero_();
  w[4][7] = 9.0;
  return w;
}

double ulp(double x) { return std::nextafter(float(std::abs(x)), INFINITY) - float(std::abs(x)); }

TEST(Rtn, ErrorAtMostHalfAStepInsideTheRangeAndCodesInRange) {
  const auto w = test_weight();
  for (int bits = 2; bits <= 8; ++bits)
    for (bool per_channel : {true, false})
      for (bool sym : {false, true}) {
        const auto q = ps::models::rtn_quantize(w, bits, per_channel, sym);
        const auto& g = q.grid;
        EXPECT_GE(q.codes.min().item<float>(), float(g.code_min()));
        EXPECT_LE(q.codes.max().item<float>(), float(g.code_max()));
        EXPECT_TRUE(at::equal(q.codes, at::round(q.codes)));
        EXPECT_TRUE(at::equal(g.scale, at::exp(g.log_scale)));
        const auto lo = per_channel ? std::get<0>(w.min(1, true)) : w.min().reshape({1, 1});
        const auto hi = per_channel ? std::get<0>(w.max(1, true)) : w.max().reshape({1, 1});
        const auto s = g.scale.expand_as(w), err = (w - q.dequant).abs();
        const auto inside = (w >= lo) & (w <= hi);  // every element: the grid covers [min⁻, max⁺]
        EXPECT_TRUE(inside.all().item<bool>());
        auto wa = w.accessor<float, 2>();
        auto ea = err.accessor<float, 2>();
        auto sa = s.accessor<float, 2>();
        for (int64_t i = 0; i < w.size(0); ++i)
          for (int64_t j = 0; j < w.size(1); ++j)
            ASSERT_LE(ea[i][j], sa[i][j] / 2 + ulp(wa[i][j]) + ulp(sa[i][j] * 128))
                << "bits " << bits << " per_channel " << per_channel << " sym " << sym << " at " << i << "," << j;
        // Q(Q(W)) == Q(W) on the grid, bit for bit.
        const auto again = ps::models::quantize_codes(q.dequant, g);
        EXPECT_TRUE(at::equal(again, q.codes)) << bits;
        EXPECT_TRUE(at::equal(ps::models::dequantize(again, g), q.dequant)) << bits;
        // The constant zero row is exact.
        if (per_channel) EXPECT_TRUE(at::equal(q.dequant[3], w[3]));
      }
}

TEST(Rtn, GridIsTheAuthorsMinMaxGrid) {
  // calculate_qparams: s = (max⁺ − min⁻)/(2^b − 1), zp = clamp(−round(min⁻/s)); the kept scale exp(δ1) is at most
  // one step of δ1 above it (an ulp of |log s| ≤ 18.5 is ≤ 2e-6 relative in s).
  const auto w = test_weight();
  const auto g = ps::models::minmax_grid(w, 4, true, false);
  for (int64_t i = 0; i < w.size(0); ++i) {
    const double lo = std::min(0.0f, w[i].min().item<float>()), hi = std::max(0.0f, w[i].max().item<float>());
    const double s0 = std::max((hi - lo) / 15.0, 1e-8), s = g.scale[i][0].item<float>();
    EXPECT_GE(s, float(s0)) << i;
    EXPECT_LE(s, double(float(s0)) * (1 + 4e-6)) << i;
    EXPECT_EQ(g.zero_point[i][0].item<float>(), std::clamp(-std::nearbyint(lo / s), 0.0, 15.0)) << i;
  }
  const auto sym = ps::models::minmax_grid(w, 3, false, true);
  EXPECT_NEAR(sym.scale.item<float>(), 2 * 9.0 / 7, 1e-5);
  EXPECT_EQ(sym.zero_point.item<float>(), 0.0f);
  EXPECT_EQ(sym.code_min(), -4);
  EXPECT_EQ(sym.code_max(), 3);
}

TEST(QuantizeSpec, ParsesDefaultsAndRefusesBadItemsInOneLine) {
  using ps::models::parse_quantize_spec;
  const auto r = parse_quantize_spec("rtn:bits=3");
  EXPECT_EQ(r.bits, 3);
  EXPECT_TRUE(r.per_channel);
  EXPECT_FALSE(r.symmetric);
  EXPECT_TRUE(r.skip_embeddings && r.skip_lm_head);
  const auto t = parse_quantize_spec("rtn:bits=8,per=tensor,sym,skip=lm_head");
  EXPECT_FALSE(t.per_channel);
  EXPECT_TRUE(t.symmetric);
  EXPECT_FALSE(t.skip_embeddings);
  EXPECT_TRUE(t.skip_lm_head);
  const auto both = parse_quantize_spec("rtn:bits=4,skip=embeddings,lm_head,asym");
  EXPECT_TRUE(both.skip_embeddings && both.skip_lm_head);
  EXPECT_FALSE(parse_quantize_spec("rtn:bits=4,skip=none").skip_embeddings);
  const auto f = parse_quantize_spec("flexround:bits=3,calib=8,iters=20,seqlen=16,seed=4");
  EXPECT_EQ(f.method, ps::models::QuantizeSpec::Method::FlexRound);
  EXPECT_EQ(f.calib, 8);
  EXPECT_EQ(f.iters, 20);
  EXPECT_EQ(f.learning_rate(), 2.5e-3);
  EXPECT_EQ(parse_quantize_spec("flexround:bits=4").learning_rate(), 3e-3);
  EXPECT_EQ(parse_quantize_spec("flexround:bits=4,lr=1e-3").learning_rate(), 1e-3);
  for (const char* bad : {"rtn:bits=0", "rtn:bits=9", "rtn:bits=4,colour=red", "rtn:bits=4,calib=8", "rtn:per=channel",
                          "rtn:bits=4,per=row", "flexround:bits=4,calib=0", "flexround:bits=4,iters=0", "gptq:bits=4",
                          "rtn:bits=4,skip=attn", "flexround:bits=4,lr=-1", "rtn:bits=four", "rtn:bits=4,,sym"}) {
    try {
      parse_quantize_spec(bad);
      ADD_FAILURE() << bad;
    } catch (const ps::InputError& e) {
      EXPECT_NE(std::string(e.what()).find("--quantize"), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Whole models.

std::string bytes(const ps::st::TensorInfo& t) { return std::string((const char*)t.data, t.nbytes); }

at::Tensor read(const ps::st::File& f, const std::string& name) {
  const auto& t = f.at(name);
  auto dt = t.dtype == ps::st::DType::U8 ? at::kByte
          : t.dtype == ps::st::DType::I8 ? at::kChar
          : t.dtype == ps::st::DType::I32 ? at::kInt : at::kFloat;
  auto out = at::empty(t.shape, at::TensorOptions().dtype(dt));
  std::memcpy(out.data_ptr(), t.data, t.nbytes);
  return out;
}

void check_written(ps::test::Tiny kind, const std::string& spec_text, size_t expected_tensors) {
  const auto dir = ps::test::scratch_dir(std::string("rtn_") + ps::test::tiny_name(kind));
  ps::models::InterveneOptions o;
  o.model_dir = (dir / "src").string();
  o.out_dir = (dir / "out").string();
  ps::test::write_model(o.model_dir, ps::test::tiny_spec(kind, 2));
  const auto spec = ps::models::parse_quantize_spec(spec_text);
  o.quantize = spec;
  ps::models::intervene(o);

  const auto rec = nlohmann::json::parse(ps::read_file(o.out_dir + "/probescope_intervention.json"));
  ASSERT_EQ(rec["interventions"].size(), 1u);
  const auto& step = rec["interventions"][0];
  EXPECT_EQ(step["kind"], "quantize");
  EXPECT_EQ(step["bits"], spec.bits);
  std::set<std::string> quantized;
  for (const auto& n : step["tensors"]) quantized.insert(n.get<std::string>());
  EXPECT_EQ(quantized.size(), expected_tensors) << step.dump();

  const auto src = ps::st::File::open(o.model_dir + "/model.safetensors");
  const auto out = ps::st::File::open(o.out_dir + "/model.safetensors");
  const auto qf = ps::st::File::open(o.out_dir + "/quantization.safetensors");
  const auto axes = nlohmann::json::parse(qf.metadata().at("output_channel_axis"));
  EXPECT_EQ(src.names(), out.names());
  for (const auto& n : src.names()) {
    if (!quantized.count(n)) {
      EXPECT_EQ(bytes(src.at(n)), bytes(out.at(n))) << n << " must be untouched";
      EXPECT_EQ(qf.find(n + ".codes"), nullptr) << n;
      continue;
    }
    EXPECT_NE(bytes(src.at(n)), bytes(out.at(n))) << n;
    EXPECT_NE(n.find("weight"), std::string::npos) << n << ": only weights are quantised";
    const auto w = read(src, n), what = read(out, n);
    const auto codes = read(qf, n + ".codes").to(at::kFloat), scale = read(qf, n + ".scale");
    const auto zp = read(qf, n + ".zero_point").to(at::kFloat);
    const int axis = axes.at(n);
    // Conv1D [in, out] (GPT-2) keeps its output channels on dim 1.
    EXPECT_EQ(axis, kind == ps::test::Tiny::GPT2 ? 1 : 0) << n;
    EXPECT_EQ(scale.size(0), spec.per_channel ? w.size(axis) : 1) << n;
    auto bcast = [&](const at::Tensor& v) { return axis == 0 ? v.unsqueeze(1) : v.unsqueeze(0); };
    EXPECT_TRUE(at::equal(what, (codes - bcast(zp)) * bcast(scale))) << n;
    EXPECT_GE(codes.min().item<float>(), spec.symmetric ? -(1 << (spec.bits - 1)) : 0) << n;
    EXPECT_LE(codes.max().item<float>(), spec.symmetric ? (1 << (spec.bits - 1)) - 1 : (1 << spec.bits) - 1) << n;
    EXPECT_LE(((w - what).abs() - bcast(scale) / 2).max().item<float>(), 1e-6) << n;
  }
  // Loads through the one loading path and runs.
  const auto opened = ps::models::open_model(ps::models::ModelSource::directory(o.out_dir));
  ps::models::Capture c;
  c.hooks = {"hidden_states.2"};
  const auto states = opened.engine->run({{1, 5, 7, 9, 11, 3}}, c);
  EXPECT_TRUE(at::isfinite(states.at(0).hooks.at("hidden_states.2")).all().item<bool>());
  const auto before = ps::models::open_model(ps::models::ModelSource::directory(o.model_dir)).engine->run({{1, 5, 7, 9, 11, 3}}, c);
  EXPECT_FALSE(at::equal(before.at(0).hooks.at("hidden_states.2"), states.at(0).hooks.at("hidden_states.2")));
}

// Tiny models have 2 blocks: GPT-2 c_attn, c_proj, c_fc, mlp.c_proj; RoBERTa q, k, v, o, in, out; LLaMA q,k,v,o,gate,up,down.
TEST(RtnModel, Gpt2Conv1dPerOutputChannelOnDim1) { check_written(ps::test::Tiny::GPT2, "rtn:bits=4", 8); }
TEST(RtnModel, RobertaSymmetricPerTensor) { check_written(ps::test::Tiny::RoBERTa, "rtn:bits=3,per=tensor,sym", 12); }
TEST(RtnModel, LlamaEveryLinearAndTheEmbeddingsWhenAsked) {
  check_written(ps::test::Tiny::LLaMA, "rtn:bits=2", 14);
  check_written(ps::test::Tiny::Qwen2, "rtn:bits=8,skip=lm_head", 15);  // + embed_tokens (tied head)
}

TEST(RtnModel, RefusesWithoutWritingAnything) {
  const auto dir = ps::test::scratch_dir("rtn_refuse");
  ps::models::InterveneOptions o;
  o.model_dir = (dir / "src").string();
  o.out_dir = (dir / "out").string();
  ps::test::write_model(o.model_dir, ps::test::tiny_spec(ps::test::Tiny::GPT2, 1));
  o.quantize = ps::models::parse_quantize_spec("flexround:bits=4,calib=2");  // no calibration sequences given
  EXPECT_THROW(ps::models::intervene(o), ps::InputError);
  EXPECT_FALSE(fs::exists(o.out_dir));
}

}  // namespace
