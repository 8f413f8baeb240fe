// Prepacked vs padded vs one-at-a-time: identical per-sequence states for every layer, all three families.
#include <gtest/gtest.h>
#include <ATen/ATen.h>

#include <random>

#include "models/transformer/engine.h"
#include "models/transformer/masks.h"
#include "models/util/error.h"

using namespace ps::models;

namespace {

ArchSpec tiny(Family f) {
  ArchSpec a;
  a.family = f;
  a.vocab_size = 97, a.d_model = 32, a.n_layers = 2, a.n_heads = 4, a.n_kv_heads = 4, a.head_dim = 8, a.d_ff = 64;
  a.max_positions = a.max_position_embeddings = 128;
  if (f == Family::GPT2) {
    a.model_type = "gpt2";
  } else if (f == Family::BERT) {
    a.model_type = "roberta", a.causal = false, a.activation = Activation::Gelu, a.position_offset = 2;
    a.max_position_embeddings = 130, a.type_vocab_size = 1, a.pad_token_id = 1;
  } else {
    a.model_type = "llama", a.norm = NormKind::RMSNorm, a.activation = Activation::Silu;
    a.positional = PositionalKind::Rotary, a.n_kv_heads = 2, a.qkv_bias = a.o_bias = a.mlp_bias = false;
    a.tie_word_embeddings = false;
  }
  return a;
}

std::vector<std::vector<int32_t>> sequences() {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int32_t> tok(3, 96);
  std::vector<std::vector<int32_t>> seqs;
  for (int n : {3, 41, 7, 1, 64, 19, 2, 33, 5}) {  // very different lengths
    seqs.emplace_back(n);
    for (auto& t : seqs.back()) t = tok(rng);
  }
  return seqs;
}

Capture all_layers(const Transformer& m, bool patterns) {
  Capture c;
  for (int l = 0; l <= m.arch().n_layers; ++l) c.hooks.insert(m.hidden_state_hook(l));
  if (patterns) c.hooks.insert("blocks.1.attn.hook_pattern");
  return c;
}

double max_diff(const std::vector<SequenceStates>& a, const std::vector<SequenceStates>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i)
    for (const auto& [name, t] : a[i].hooks) m = std::max(m, (t - b[i].hooks.at(name)).abs().max().item<double>());
  return m;
}

class EngineFamilies : public ::testing::TestWithParam<Family> {};

TEST_P(EngineFamilies, PrepackedEqualsPaddedEqualsAlone) {
  auto model = Transformer::random_init(tiny(GetParam()), 5);
  const auto seqs = sequences();
  const Capture cap = all_layers(*model, true);
  auto run = [&](Packing p, int64_t budget) {
    EngineOptions o;
    o.packing = p;
    o.token_budget = budget;
    o.threads = 1;
    RunStats st;
    auto out = Engine(model, o).run(seqs, cap, &st);
    EXPECT_EQ(st.sequences, static_cast<int64_t>(seqs.size()));
    return std::make_pair(out, st);
  };
  auto [packed, pst] = run(Packing::Prepacked, 256);
  auto [padded, dst] = run(Packing::Padded, 256);
  auto [sorted, sst] = run(Packing::SortedPadded, 256);
  auto [alone, ast] = run(Packing::Padded, 1);  // budget 1: every sequence gets its own forward
  EXPECT_EQ(ast.forwards, static_cast<int64_t>(seqs.size()));
  EXPECT_LT(pst.padding_fraction(), dst.padding_fraction());
  EXPECT_LE(max_diff(packed, alone), 1e-4);
  EXPECT_LE(max_diff(padded, alone), 1e-4);
  EXPECT_LE(max_diff(sorted, alone), 1e-4);
  for (size_t i = 0; i < seqs.size(); ++i) {
    const auto n = static_cast<int64_t>(seqs[i].size());
    EXPECT_EQ(packed[i].hooks.at("hidden_states.2").sizes(), (std::vector<int64_t>{n, 32}));
    EXPECT_EQ(packed[i].hooks.at("blocks.1.attn.hook_pattern").sizes(), (std::vector<int64_t>{4, n, n}));
    // each sequence's attention rows are a distribution over its own tokens only
    auto rows = packed[i].hooks.at("blocks.1.attn.hook_pattern").sum(-1);
    EXPECT_LE((rows - 1).abs().max().item<double>(), 1e-5);
  }
}

// The Λ and window masks go through the same per-bucket path as the default one: every packing agrees.
TEST_P(EngineFamilies, MasksAgreeAcrossPackings) {
  auto model = Transformer::random_init(tiny(GetParam()), 9);
  const auto seqs = sequences();
  const Capture cap = all_layers(*model, true);
  std::vector<std::string> masks = {"window:6"};
  if (model->arch().causal)  // with the distance cap (default and wider) and without
    for (const char* m : {"lm-infinite:2:5", "lm-infinite:3:4:9", "lm-infinite:2:5:none"}) masks.push_back(m);
  for (const auto& mask : masks) {
    auto run = [&](Packing p, int64_t budget) {
      EngineOptions o;
      o.packing = p, o.token_budget = budget, o.threads = 1, o.mask = mask;
      return Engine(model, o).run(seqs, cap);
    };
    const auto alone = run(Packing::Padded, 1);
    EXPECT_LE(max_diff(run(Packing::Prepacked, 256), alone), 1e-4) << mask;
    EXPECT_LE(max_diff(run(Packing::SortedPadded, 256), alone), 1e-4) << mask;
    // and the mask really changes the result (a window of 6 hides most of a 64-token sequence)
    EngineOptions d;
    d.threads = 1;
    EXPECT_GT(max_diff(Engine(model, d).run(seqs, cap), alone), 1e-3) << mask;
  }
}

// The documented bf16 tolerance (README, Dtype): every token's hidden state within 3% relative L2 of float32's
// (measured on GPT-2 small: median 0.3-1.1%, p99 <= 1.4% by layer), on the packed and the padded path alike.
TEST_P(EngineFamilies, BFloat16WithinTheDocumentedToleranceOfFloat32) {
  const auto seqs = sequences();
  auto f32 = Transformer::random_init(tiny(GetParam()), 21);
  auto bf16 = Transformer::random_init(tiny(GetParam()), 21, at::kBFloat16);  // the same draws, rounded
  const Capture cap = all_layers(*f32, false);
  for (Packing p : {Packing::Prepacked, Packing::SortedPadded}) {
    EngineOptions o;
    o.packing = p, o.threads = 1;
    const auto want = Engine(f32, o).run(seqs, cap);
    o.dtype = "bfloat16";
    const auto got = Engine(bf16, o).run(seqs, cap);
    double worst = 0;
    for (size_t i = 0; i < seqs.size(); ++i)
      for (const auto& [name, t] : want[i].hooks) {
        const auto rel = (got[i].hooks.at(name) - t).norm(2, {-1}) / t.norm(2, {-1}).clamp_min(1e-6);
        worst = std::max(worst, rel.max().item<double>());
      }
    EXPECT_LE(worst, 0.03) << packing_name(p);
    EXPECT_GT(worst, 0.0) << "bf16 should differ from fp32 at all";
  }
}

INSTANTIATE_TEST_SUITE_P(All, EngineFamilies, ::testing::Values(Family::GPT2, Family::BERT, Family::LLaMA),
                         [](const auto& info) { return std::string(family_name(info.param)); });

TEST(Engine, RejectsBadOptionsAndInputs) {
  auto model = Transformer::random_init(tiny(Family::GPT2), 1);
  EngineOptions o;
  o.mask = "lm-infinite:4";
  EXPECT_THROW(Engine(model, o), ps::InputError);
  o.mask = "default";
  o.token_budget = 0;
  EXPECT_THROW(Engine(model, o), ps::InputError);
  o.token_budget = 64;
  Engine e(model, o);
  Capture c;
  c.hooks.insert("hidden_states.1");
  EXPECT_THROW(e.run({{}}, c), ps::InputError);                               // empty sequence
  EXPECT_THROW(e.run({std::vector<int32_t>(129, 5)}, c), ps::InputError);    // past max positions
  EXPECT_THROW(dtype_from_name("int8"), ps::InputError);
}

// A learned position table ends at its last row; a rotary model runs past its trained length (what long-context
// studies measure) and gives there what a plain forward gives.
TEST(Engine, RotaryModelsRunPastTheirTrainedLengthLearnedTablesDoNot) {
  auto llama = Transformer::random_init(tiny(Family::LLaMA), 4);
  EngineOptions o;
  o.token_budget = 512;
  Engine e(llama, o);
  Capture c;
  c.hooks.insert("hidden_states.2");
  std::vector<int32_t> long_seq(300);
  for (size_t i = 0; i < long_seq.size(); ++i) long_seq[i] = int32_t(3 + (i * 7) % 90);
  const auto got = e.run({long_seq}, c).at(0).hooks.at("hidden_states.2");
  ForwardInput in;
  in.input_ids = at::tensor(std::vector<int64_t>(long_seq.begin(), long_seq.end())).unsqueeze(0);
  const auto want = llama->forward(in, c).hooks.at("hidden_states.2")[0];
  EXPECT_TRUE(at::allclose(got, want, 1e-4, 1e-5));
  Engine g(Transformer::random_init(tiny(Family::GPT2), 4), o);
  EXPECT_THROW(g.run({long_seq}, c), ps::InputError);
}

TEST(Engine, LmInfiniteMaskLimitsWhatEachQuerySees) {
  auto model = Transformer::random_init(tiny(Family::LLaMA), 2);
  EngineOptions o;
  o.mask = "lm-infinite:2:3";
  Capture c;
  c.hooks.insert("blocks.0.attn.hook_pattern");
  auto out = Engine(model, o).run({std::vector<int32_t>(10, 7)}, c);
  auto p = out[0].hooks.at("blocks.0.attn.hook_pattern");  // [H, 10, 10]
  // query 9 may see keys 0,1 (global) and 7,8,9 (local) only
  auto row = p.select(1, 9).sum(0);
  for (int j = 0; j < 10; ++j) {
    const bool visible = j < 2 || j >= 7;
    EXPECT_EQ(row[j].item<float>() > 0, visible) << "key " << j;
  }
}

}  // namespace

namespace {

// An Engine must run the model it says it runs: a float32 CPU model under bfloat16 (or CUDA) options is refused.
TEST(Engine, RefusesAModelWhoseDtypeOrDeviceDiffersFromItsOptions) {
  auto model = Transformer::random_init(tiny(Family::GPT2), 1);  // float32 on CPU
  EngineOptions o;
  o.dtype = "bfloat16";
  try {
    Engine e(model, o);
    FAIL() << "accepted a float32 model as bfloat16";
  } catch (const ps::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("bfloat16"), std::string::npos) << e.what();
  }
  o.dtype = "float32";
  o.device = "cuda";
  EXPECT_THROW(Engine(model, o), ps::InputError);
  o.device = "cpu";
  EXPECT_NO_THROW(Engine(model, o));
}

// Run options are per call: one Engine serves callers with different budgets and masks.
TEST(Engine, PerCallRunOptionsOverrideTheEnginesOwn) {
  auto model = Transformer::random_init(tiny(Family::GPT2), 3);
  EngineOptions o;
  o.token_budget = 4096;
  const Engine e(model, o);
  Capture c;
  c.hooks.insert("hidden_states.2");
  std::vector<std::vector<int32_t>> seqs(6, std::vector<int32_t>(20, 4));
  RunStats wide, narrow;
  const auto a = e.run(seqs, c, &wide);
  RunOptions small;
  small.token_budget = 20;  // one sequence per forward
  const auto b = e.run(seqs, c, small, &narrow);
  EXPECT_EQ(wide.forwards, 1);
  EXPECT_EQ(narrow.forwards, 6);
  for (size_t i = 0; i < seqs.size(); ++i)
    EXPECT_TRUE(at::allclose(a[i].hooks.at("hidden_states.2"), b[i].hooks.at("hidden_states.2"), 1e-5, 1e-5));
  small.token_budget = 0;
  EXPECT_THROW(e.run(seqs, c, small), ps::InputError);
}

}  // namespace
