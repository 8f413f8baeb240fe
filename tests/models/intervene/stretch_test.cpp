// Long-CLIP position stretching (spec interventions.md §4(d)): the table identities, then whole models
// written by `intervene` in the HF layout: identical outputs where no stretched position is seen, the
// causal/bidirectional difference past k, longer inputs accepted, RoBERTa's offset rows untouched.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "models/config/arch.h"
#include "models/config/rope_scaling.h"
#include "models/intervene/intervene.h"
#include "models/open/open_model.h"
#include "models/safetensors/safetensors.h"
#include "models/transformer/transformer.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "models/util/sha256.h"
#include "tests/common/scratch.h"
#include "tests/models/transformer/tiny_models.h"

namespace {

namespace fs = std::filesystem;
using ps::models::StretchSpec;

at::Tensor random_table(int64_t rows, int64_t dim, at::ScalarType dtype = at::kFloat) {
  at::manual_seed(5);
  return at::randn({rows, dim}).to(dtype);
}

TEST(StretchTable, RowsFollowTheFormula) {
  for (int64_t lam : {2, 3, 4}) {
    const int64_t L = 30, k = 7;
    const auto P = random_table(L, 5);
    const auto S = ps::models::stretch_table(P, {k, lam});
    ASSERT_EQ(S.size(0), lam * L - (lam - 1) * k) << lam;
    ASSERT_EQ(S.size(0), ps::models::stretched_rows(L, {k, lam}));
    EXPECT_TRUE(at::equal(S.slice(0, 0, k), P.slice(0, 0, k)));
    const auto Pd = P.to(at::kDouble);
    for (int64_t i = 0; i <= L - k - 1; ++i) EXPECT_TRUE(at::equal(S[k + lam * i], P[k + i])) << "i=" << i;
    for (int64_t i = 0; i <= L - k - 2; ++i)
      for (int64_t m = 0; m < lam; ++m) {
        const auto want = ((lam - m) * Pd[k + i] + m * Pd[k + i + 1]) / double(lam);
        EXPECT_TRUE(at::allclose(S[k + lam * i + m].to(at::kDouble), want, 1e-6, 1e-7)) << i << "," << m;
      }
    for (int64_t m = 0; m < lam; ++m) {
      const auto want = Pd[L - 1] + m * (Pd[L - 1] - Pd[L - 2]) / double(lam);
      EXPECT_TRUE(at::allclose(S[lam * L - (lam - 1) * k - lam + m].to(at::kDouble), want, 1e-6, 1e-7)) << m;
    }
  }
}

TEST(StretchTable, LongClipSizes) {
  EXPECT_EQ(ps::models::stretched_rows(77, {20, 4}), 248);    // CLIP text
  EXPECT_EQ(ps::models::stretched_rows(1024, {20, 4}), 4036);  // GPT-2
  EXPECT_EQ(ps::models::stretched_rows(512, {20, 4}), 1988);   // BERT
}

TEST(StretchTable, FactorOneIsIdentityInEveryDtype) {
  for (auto dt : {at::kFloat, at::kHalf, at::kBFloat16})
    for (int64_t k : {0, 3, 9}) {
      const auto P = random_table(10, 4, dt);
      const auto S = ps::models::stretch_table(P, {k, 1});
      EXPECT_EQ(S.scalar_type(), dt);
      EXPECT_TRUE(at::equal(S, P)) << k;
    }
}

TEST(StretchTable, OffsetRowsAreLeftAlone) {
  const auto P = random_table(20, 3);
  const auto S = ps::models::stretch_position_table(P, 2, {4, 3});
  ASSERT_EQ(S.size(0), 2 + 3 * 18 - 2 * 4);
  EXPECT_TRUE(at::equal(S.slice(0, 0, 2), P.slice(0, 0, 2)));
  EXPECT_TRUE(at::equal(S.slice(0, 2), ps::models::stretch_table(P.slice(0, 2), {4, 3})));
}

TEST(StretchTable, BadSpecsAreOneLineErrors) {
  using ps::models::parse_stretch_spec;
  const auto s = parse_stretch_spec("factor=3");
  EXPECT_EQ(s.keep, 20);
  EXPECT_EQ(s.factor, 3);
  const auto t = parse_stretch_spec("keep=0, factor=2");
  EXPECT_EQ(t.keep, 0);
  for (const char* bad : {"keep=20,factor=0", "keep=-1", "keep=x", "size=3", "keep", "factor=2.5", "keep=1,,factor=2"}) {
    try {
      parse_stretch_spec(bad);
      ADD_FAILURE() << bad;
    } catch (const ps::InputError& e) {
      EXPECT_NE(std::string(e.what()).find("--stretch-positions"), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    }
  }
  EXPECT_THROW(ps::models::stretched_rows(10, {10, 2}), ps::InputError);  // k must leave a row to stretch
  EXPECT_THROW(ps::models::stretched_rows(1, {0, 2}), ps::InputError);
}

// ---------------------------------------------------------------------------------------------------------
// Whole models.

struct Written {
  std::string src, out;
};

Written stretch_tiny(ps::test::Tiny kind, StretchSpec s, int64_t positions = 64) {
  const auto dir = ps::test::scratch_dir(ps::test::tiny_name(kind));
  ps::test::TinyDims dims;
  dims.positions = positions;
  ps::test::write_model((dir / "src").string(), ps::test::tiny_spec(kind, 2, dims));
  ps::models::InterveneOptions o;
  o.model_dir = (dir / "src").string();
  o.out_dir = (dir / "out").string();
  o.stretch = s;
  ps::models::intervene(o);
  return {o.model_dir, o.out_dir};
}

std::map<std::string, at::Tensor> run(const ps::models::Transformer& m, const std::vector<int64_t>& ids) {
  ps::models::ForwardInput in;
  in.input_ids = at::tensor(ids, at::kLong).unsqueeze(0);
  ps::models::Capture c;
  for (int l = 0; l <= m.arch().n_layers; ++l) c.hooks.insert("hidden_states." + std::to_string(l));
  c.logits = true;
  auto fo = m.forward(in, c);
  auto out = fo.hooks;
  out["logits"] = fo.logits;
  for (auto& [n, t] : out) t = t[0];
  return out;
}

std::vector<int64_t> tokens(int64_t n) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < n; ++i) v.push_back((i * 7 + 3) % ps::test::kTinyVocab);
  return v;
}

TEST(StretchModel, Gpt2ShortInputsIdenticalAndPrefixUnchangedAtAnyLength) {
  const int64_t k = 8;
  const auto w = stretch_tiny(ps::test::Tiny::GPT2, {k, 4});
  const auto a = ps::models::Transformer::load(w.src), b = ps::models::Transformer::load(w.out);
  EXPECT_EQ(b->arch().max_positions, 4 * 64 - 3 * k);
  for (int64_t n : {int64_t(1), int64_t(5), k}) {
    const auto x = run(*a, tokens(n)), y = run(*b, tokens(n));
    for (const auto& [name, t] : x) EXPECT_TRUE(at::equal(t, y.at(name))) << name << " n=" << n;
  }
  // Causal: positions < k only ever see unchanged rows, whatever follows them: bit for bit at equal lengths.
  for (int64_t n : {int64_t(k + 1), int64_t(40), int64_t(64)}) {
    const auto x = run(*a, tokens(n)), y = run(*b, tokens(n));
    for (const auto& [name, t] : x)
      EXPECT_TRUE(at::equal(t.slice(0, 0, k), y.at(name).slice(0, 0, k))) << name << " n=" << n;
  }
  // Past the old limit there is no same-length reference; a different length may pick other matmul kernels,
  // so the 64-token run is matched to float32 rounding.
  {
    const auto x = run(*a, tokens(64)), y = run(*b, tokens(150));
    for (const auto& [name, t] : x)
      EXPECT_TRUE(at::allclose(t.slice(0, 0, k), y.at(name).slice(0, 0, k), 1e-5, 1e-6)) << name;
  }
  const auto x = run(*a, tokens(40));
  // ...and positions >= k do change (the table moved there).
  const auto y = run(*b, tokens(40));
  EXPECT_GT((x.at("logits").slice(0, k) - y.at("logits").slice(0, k)).abs().max().item<float>(), 1e-3);
}

TEST(StretchModel, RobertaShortInputsIdenticalLongerOnesChangeEveryPosition) {
  const int64_t k = 6;
  const auto w = stretch_tiny(ps::test::Tiny::RoBERTa, {k, 3});
  const auto a = ps::models::Transformer::load(w.src), b = ps::models::Transformer::load(w.out);
  EXPECT_EQ(b->arch().max_position_embeddings, 2 + 3 * 64 - 2 * k);
  EXPECT_EQ(b->arch().max_positions, 3 * 64 - 2 * k);
  // Rows 0..1 (RoBERTa's padding offset) are untouched; rows 2..2+k-1 kept.
  const auto pa = a->parameters().at("embed.positions"), pb = b->parameters().at("embed.positions");
  EXPECT_TRUE(at::equal(pa.slice(0, 0, 2 + k), pb.slice(0, 0, 2 + k)));
  EXPECT_TRUE(at::equal(pa[2 + k + 1], pb[2 + k + 3]));
  for (int64_t n : {int64_t(2), k}) {
    const auto x = run(*a, tokens(n)), y = run(*b, tokens(n));
    for (const auto& [name, t] : x) EXPECT_TRUE(at::equal(t, y.at(name))) << name << " n=" << n;
  }
  // Bidirectional: once a stretched position is in the input, every position changes from layer 1 on.
  const auto x = run(*a, tokens(30)), y = run(*b, tokens(30));
  EXPECT_TRUE(at::equal(x.at("hidden_states.0").slice(0, 0, k), y.at("hidden_states.0").slice(0, 0, k)));
  for (int l = 1; l <= 2; ++l) {
    const auto h = "hidden_states." + std::to_string(l);
    EXPECT_GT((x.at(h).slice(0, 0, k) - y.at(h).slice(0, 0, k)).abs().max().item<float>(), 1e-4) << h;
  }
}

TEST(StretchModel, WrittenDirectoryOpensAndTakesLongerInputs) {
  const auto dir = ps::test::scratch_dir("open");
  ps::test::write_model((dir / "src").string(), ps::test::tiny_spec(ps::test::Tiny::GPT2, 3));
  // Keys HF also reads, which a stretch must raise with the table.
  auto config = nlohmann::json::parse(ps::read_file((dir / "src/config.json").string()));
  config["n_ctx"] = 64;
  ps::write_file_atomic((dir / "src/config.json").string(), config.dump(2));
  ps::write_file_atomic((dir / "src/tokenizer_config.json").string(), R"({"model_max_length": 64, "eos_token": "x"})");
  ps::models::InterveneOptions o;
  o.model_dir = (dir / "src").string();
  o.out_dir = (dir / "nested/out").string();
  o.stretch = StretchSpec{20, 4};
  const auto r = ps::models::intervene(o);
  EXPECT_EQ(r.max_positions_before, 64);
  EXPECT_EQ(r.max_positions_after, 4 * 64 - 3 * 20);

  const auto c = nlohmann::json::parse(ps::read_file(o.out_dir + "/config.json"));
  EXPECT_EQ(c["n_positions"], 196);
  EXPECT_EQ(c["n_ctx"], 196);
  EXPECT_EQ(nlohmann::json::parse(ps::read_file(o.out_dir + "/tokenizer_config.json"))["model_max_length"], 196);
  const auto rec = nlohmann::json::parse(ps::read_file(o.out_dir + "/probescope_intervention.json"));
  ASSERT_EQ(rec["interventions"].size(), 1u);
  EXPECT_EQ(rec["interventions"][0]["kind"], "stretch_positions");
  EXPECT_EQ(rec["interventions"][0]["keep"], 20);
  EXPECT_EQ(rec["interventions"][0]["factor"], 4);
  EXPECT_EQ(rec["interventions"][0]["tensor"], "transformer.wpe.weight");
  EXPECT_EQ(rec["source"]["files"]["model.safetensors"], ps::sha256_file(o.model_dir + "/model.safetensors"));
  // Every other tensor is byte-for-byte the source's.
  const auto s1 = ps::st::File::open(o.model_dir + "/model.safetensors"), s2 = ps::st::File::open(o.out_dir + "/model.safetensors");
  EXPECT_EQ(s1.names(), s2.names());
  for (const auto& n : s1.names()) {
    if (n == "transformer.wpe.weight") continue;
    EXPECT_EQ(std::string((const char*)s1.at(n).data, s1.at(n).nbytes), std::string((const char*)s2.at(n).data, s2.at(n).nbytes)) << n;
  }

  std::vector<int32_t> long_input(150);
  for (int i = 0; i < 150; ++i) long_input[i] = i % 50;
  const auto old_model = ps::models::open_model(ps::models::ModelSource::directory(o.model_dir));
  EXPECT_THROW(old_model.engine->run({long_input}, {{"hidden_states.1"}}), ps::InputError);
  const auto opened = ps::models::open_model(ps::models::ModelSource::directory(o.out_dir));
  const auto states = opened.engine->run({long_input}, {{"hidden_states.1"}});
  EXPECT_EQ(states.at(0).hooks.at("hidden_states.1").size(0), 150);

  // No temp directory is left beside the output.
  for (const auto& e : fs::directory_iterator(dir / "nested")) EXPECT_EQ(e.path().filename(), "out");

  // Intervening on the intervened model records the history.
  ps::models::InterveneOptions again = o;
  again.model_dir = o.out_dir;
  again.out_dir = (dir / "twice").string();
  again.stretch = StretchSpec{20, 2};
  const auto r2 = ps::models::intervene(again);
  EXPECT_EQ(r2.max_positions_after, 2 * 196 - 20);
  const auto rec2 = nlohmann::json::parse(ps::read_file(again.out_dir + "/probescope_intervention.json"));
  EXPECT_EQ(rec2["previous"]["interventions"][0]["factor"], 4);
}

TEST(StretchModel, RefusesWhatItCannotDo) {
  const auto dir = ps::test::scratch_dir("refuse");
  const std::string src = (dir / "gpt2").string(), llama = (dir / "llama").string(), out = (dir / "out").string();
  ps::test::write_model(src, ps::test::tiny_spec(ps::test::Tiny::GPT2, 1));
  ps::test::write_model(llama, ps::test::tiny_spec(ps::test::Tiny::LLaMA, 1));
  auto expect_error = [](const ps::models::InterveneOptions& o, const std::string& part) {
    try {
      ps::models::intervene(o);
      ADD_FAILURE() << "no error, expected " << part;
    } catch (const ps::InputError& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  };
  ps::models::InterveneOptions o;
  o.model_dir = src;
  o.out_dir = out;
  expect_error(o, "nothing to do");
  o.stretch = StretchSpec{64, 4};
  expect_error(o, "keep=64");
  o.stretch = StretchSpec{8, 2};
  o.out_dir = src;
  expect_error(o, "must differ");
  o.out_dir = out;
  fs::create_directories(out);
  ps::write_file_atomic(out + "/keep.txt", "mine");
  expect_error(o, "--force");
  EXPECT_TRUE(fs::exists(out + "/keep.txt"));
  o.force = true;
  ps::models::intervene(o);
  EXPECT_FALSE(fs::exists(out + "/keep.txt"));
  EXPECT_EQ(ps::models::load_arch(out + "/config.json").max_positions, 2 * 64 - 8);
  ps::models::InterveneOptions r;
  r.model_dir = llama;
  r.out_dir = (dir / "l").string();
  r.stretch = StretchSpec{};
  expect_error(r, "rotary");
  EXPECT_FALSE(fs::exists(r.out_dir));
}

// --rope-scaling writes HF's own field; the written model runs exactly as the source with the scaling applied.
TEST(RopeScalingModel, WrittenIntoConfigAndAppliedOnLoad) {
  const auto dir = ps::test::scratch_dir("rope");
  ps::models::InterveneOptions o;
  o.model_dir = (dir / "llama").string();
  o.out_dir = (dir / "out").string();
  ps::test::write_model(o.model_dir, ps::test::tiny_spec(ps::test::Tiny::LLaMA, 1));
  o.rope_scaling = "linear:2";
  const auto r = ps::models::intervene(o);
  EXPECT_EQ(r.max_positions_after, 128);
  const auto c = nlohmann::json::parse(ps::read_file(o.out_dir + "/config.json"));
  EXPECT_EQ(c["rope_scaling"]["rope_type"], "linear");
  EXPECT_EQ(c["rope_scaling"]["factor"], 2.0);
  const auto rec = nlohmann::json::parse(ps::read_file(o.out_dir + "/probescope_intervention.json"));
  EXPECT_EQ(rec["interventions"][0]["kind"], "rope_scaling");
  EXPECT_EQ(rec["interventions"][0]["spec"], "linear:2");

  const auto src = ps::models::Transformer::load(o.model_dir), out = ps::models::Transformer::load(o.out_dir);
  auto arch = src->arch();
  ps::models::apply_rope_scaling(arch, ps::models::parse_rope_scaling_spec("linear:2"), "test");
  const auto scaled = src->with_changes(arch, {});
  const auto x = run(*scaled, tokens(100)), y = run(*out, tokens(100)), z = run(*src, tokens(40));
  for (const auto& [name, t] : x) EXPECT_TRUE(at::equal(t, y.at(name))) << name;
  EXPECT_FALSE(at::equal(z.at("logits"), y.at("logits").slice(0, 0, 40)));

  ps::models::InterveneOptions g;
  g.model_dir = (dir / "gpt2").string();
  g.out_dir = (dir / "g").string();
  ps::test::write_model(g.model_dir, ps::test::tiny_spec(ps::test::Tiny::GPT2, 1));
  g.rope_scaling = "linear:2";
  EXPECT_THROW(ps::models::intervene(g), ps::InputError);
  o.out_dir = (dir / "bad").string();
  o.rope_scaling = "sideways:2";
  EXPECT_THROW(ps::models::intervene(o), ps::InputError);
  EXPECT_FALSE(fs::exists(o.out_dir));
}

}  // namespace
