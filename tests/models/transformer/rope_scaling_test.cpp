// RoPE scaling numerics (spec §2–3 of shared/specs/interventions.md): the planted inverse frequencies and
// attention factors, the identities every type must keep, and that length-dependent types use each
// sequence's own length whatever ran before or beside it.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <functional>

#include <nlohmann/json.hpp>

#include "models/config/arch.h"
#include "models/config/rope_scaling.h"
#include "models/open/open_model.h"
#include "models/transformer/detail/rotary.h"
#include "models/transformer/transformer.h"
#include "models/util/error.h"
#include "tests/models/transformer/tiny_models.h"

namespace ps::models {
namespace {

using nlohmann::json;

// Architecture only (no weights): head_dim = hidden / heads.
ArchSpec arch_of(const std::string& scaling, int64_t max_pos, double theta = 1e4, int64_t head_dim = 128) {
  const json c = {{"model_type", "llama"}, {"vocab_size", 50}, {"hidden_size", head_dim * 2}, {"intermediate_size", 96},
                  {"num_hidden_layers", 2}, {"num_attention_heads", 2}, {"num_key_value_heads", 1},
                  {"max_position_embeddings", max_pos}, {"rope_theta", theta}, {"initializer_range", 0.1}};
  ArchSpec a = parse_arch(c.dump(), "test/config.json");
  if (!scaling.empty()) apply_rope_scaling(a, parse_rope_scaling_spec(scaling), "test");
  return a;
}

std::vector<double> default_inv(const ArchSpec& a) {
  ArchSpec d = a;
  apply_rope_scaling(d, json(), "test");
  return rope_inv_freq_values(d, 0);
}

TEST(RopeScaling, Llama3PlantedIndexSetsAndRatios) {
  const ArchSpec a = arch_of("llama3:8:low_freq_factor=1:high_freq_factor=4:original_max_position_embeddings=8192",
                             131072, 5e5);
  const auto inv = rope_inv_freq_values(a, 0), base = default_inv(a);
  ASSERT_EQ(inv.size(), 64u);
  for (int i = 0; i <= 28; ++i) EXPECT_EQ(inv[i], base[i]) << i;
  for (int i = 35; i < 64; ++i) EXPECT_DOUBLE_EQ(inv[i], base[i] / 8) << i;
  const double ratios[] = {0.82817, 0.64374, 0.49351, 0.37112, 0.27143, 0.19021};
  for (int i = 29; i <= 34; ++i) EXPECT_NEAR(inv[i] / base[i], ratios[i - 29], 1e-5) << i;
}

// YaRN keeps θ_i for i ≤ low, takes θ_i/s for i ≥ high, and is strictly between inside.
void expect_yarn_range(const std::string& scaling, int64_t L, double theta, int low, int high, double s) {
  const ArchSpec a = arch_of(scaling, L, theta);
  const auto inv = rope_inv_freq_values(a, 0), base = default_inv(a);
  for (int i = 0; i < 64; ++i) {
    if (i <= low) EXPECT_EQ(inv[i], base[i]) << scaling << " i=" << i;
    else if (i >= high) EXPECT_DOUBLE_EQ(inv[i], base[i] / s) << scaling << " i=" << i;
    else EXPECT_TRUE(inv[i] < base[i] && inv[i] > base[i] / s) << scaling << " i=" << i;
  }
}

TEST(RopeScaling, YarnPlantedIndexSetsAndAttentionFactors) {
  expect_yarn_range("yarn:16", 4096, 1e4, 20, 46, 16);
  expect_yarn_range("yarn:32", 4096, 1e4, 20, 46, 32);
  expect_yarn_range("yarn:4", 2048, 1e4, 16, 41, 4);
  expect_yarn_range("yarn:4", 8192, 5e5, 18, 35, 4);
  // The attention factor multiplies cos and sin alike: at position 0, cos = factor, sin = 0.
  const struct { const char* spec; int64_t L; double factor; } planted[] = {
      {"yarn:16", 4096, 1.27726}, {"yarn:32", 4096, 1.34657}, {"yarn:4", 2048, 1.13863}};
  for (const auto& p : planted) {
    const auto [cos, sin] = rope_cos_sin_for_sequence(arch_of(p.spec, p.L), at::tensor({0, 5}, at::kLong), 2, at::kDouble);
    EXPECT_NEAR(cos[0][0].item<double>(), p.factor, 1e-5) << p.spec;
    EXPECT_EQ(sin[0][0].item<double>(), 0.0);
    EXPECT_NEAR(at::hypot(cos[1], sin[1]).min().item<double>(), cos[0][0].item<double>(), 1e-12) << p.spec;
  }
}

TEST(RopeScaling, LongRopeSwitchesFactorSetsPastTheTrainedLength) {
  const std::string shorts = "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1", longs = "2,2,2,2,2,2,2,2,4,4,4,4,4,4,4,4";
  const ArchSpec a = arch_of("longrope:32:original_max_position_embeddings=4096:short_factor=" + shorts +
                                 ":long_factor=" + longs, 131072, 1e4, 32);
  EXPECT_NEAR(a.rope_attention_factor, 1.19024, 1e-5);
  const auto base = default_inv(a), at_lo = rope_inv_freq_values(a, 4096), past = rope_inv_freq_values(a, 4097);
  for (int i = 0; i < 16; ++i) {
    EXPECT_DOUBLE_EQ(at_lo[i], base[i]);
    EXPECT_DOUBLE_EQ(past[i], base[i] / (i < 8 ? 2 : 4));
  }
}

TEST(RopeScaling, ClexPlantedBasesEqualHfDynamicAtIntegerSteps) {
  const int64_t L = 4096;
  const ArchSpec clex = arch_of("clex:1", L), dyn2 = arch_of("dynamic:2", L);
  const std::pair<int64_t, double> planted[] = {{2, 30527.7}, {4, 72195.9}, {8, 156588.3}, {16, 327366.4}};
  for (const auto& [t, base] : planted) {
    const auto inv = rope_inv_freq_values(clex, t * L), hf = rope_inv_freq_values(dyn2, t * L);
    // θ_1 = base'^(−2/d)  ⇒  base' = θ_1^(−d/2)
    EXPECT_NEAR(std::pow(inv[1], -64.0), base, 0.05) << t;
    for (size_t i = 0; i < inv.size(); ++i) EXPECT_NEAR(inv[i], hf[i], 1e-12 * hf[i]) << t << " " << i;
  }
  // Steps at integer multiples: t = ceil(n / L), so L + 1 is already t = 2, and t stops at max_factor.
  EXPECT_EQ(rope_inv_freq_values(clex, L), default_inv(clex));
  EXPECT_EQ(rope_inv_freq_values(clex, L + 1), rope_inv_freq_values(clex, 2 * L));
  EXPECT_EQ(rope_inv_freq_values(clex, 40 * L), rope_inv_freq_values(clex, 16 * L));
  EXPECT_NE(rope_inv_freq_values(arch_of("clex:1:max_factor=8", L), 16 * L), rope_inv_freq_values(clex, 16 * L));
}

TEST(RopeScaling, FactorOneIsDefaultAndDynamicIsDefaultWithinTheTrainedLength) {
  const ArchSpec plain = arch_of("", 4096);
  for (const std::string s : {"linear:1", "dynamic:1", "yarn:1", "llama3:1:original_max_position_embeddings=4096"}) {
    const ArchSpec a = arch_of(s, 4096);
    EXPECT_EQ(a.rope_attention_factor, 1.0) << s;
    // HF's dynamic formula is base·(s·n/L − (s − 1))^(d/(d−2)): at s = 1 it is the default only up to n = L
    // (past it the base still grows as (n/L)^(d/(d−2))), so dynamic is compared at L.
    const int64_t n = a.rope_scaling == RopeScaling::Dynamic ? 4096 : 3 * 4096;
    const auto inv = rope_inv_freq_values(a, n), base = rope_inv_freq_values(plain, 0);
    for (size_t i = 0; i < inv.size(); ++i) EXPECT_NEAR(inv[i], base[i], 1e-15) << s << " " << i;
  }
  const ArchSpec dyn = arch_of("dynamic:2", 4096);
  EXPECT_EQ(rope_inv_freq_values(dyn, 4096), rope_inv_freq_values(plain, 0));
  // n = 2L, s = 2: base' = base·3^(d/(d−2)).
  EXPECT_NEAR(std::pow(rope_inv_freq_values(dyn, 8192)[1], -64.0), 1e4 * std::pow(3.0, 128.0 / 126.0), 1e-6);
}

// Attention logits <R_a q, R_b k> for the rows of q, k [n, hd] at positions pa, pb (double or long).
at::Tensor rotary_logits(const ArchSpec& a, const at::Tensor& q, const at::Tensor& k, const at::Tensor& pa,
                         const at::Tensor& pb, int64_t seq_len, at::ScalarType dtype) {
  auto [cq, sq] = rope_cos_sin_for_sequence(a, pa, seq_len, dtype);
  auto [ck, sk] = rope_cos_sin_for_sequence(a, pb, seq_len, dtype);
  // apply_rope wants a heads axis: [n, 1, hd].
  const auto qr = apply_rope(q.unsqueeze(1), cq, sq).squeeze(1), kr = apply_rope(k.unsqueeze(1), ck, sk).squeeze(1);
  return (qr * kr).sum(-1);
}

TEST(RopeScaling, LinearAtPEqualsDefaultAtPOverS) {
  const ArchSpec lin = arch_of("linear:4", 64, 1e4, 32), plain = arch_of("", 64, 1e4, 32);
  at::manual_seed(3);
  const auto q = at::randn({40, 32}, at::kDouble), k = at::randn({40, 32}, at::kDouble);
  const auto pa = at::arange(40, at::kDouble) * 7, pb = at::arange(40, at::kDouble) * 3;
  const auto scaled = rotary_logits(lin, q, k, pa, pb, 0, at::kDouble);
  const auto fractional = rotary_logits(plain, q, k, pa / 4, pb / 4, 0, at::kDouble);
  EXPECT_LE((scaled - fractional).abs().max().item<double>(), 1e-12);
  EXPECT_GT((scaled - rotary_logits(plain, q, k, pa, pb, 0, at::kDouble)).abs().max().item<double>(), 0.1);
}

const char* const kEveryType[] = {"linear:2", "dynamic:2", "yarn:4", "llama3:4:original_max_position_embeddings=16",
                                  "longrope:4:short_factor=1,1.5,2,3,1,1,1,1,1,1,1,1,1,1,1,1:long_factor=2,2,2,2,3,3,3,3,4,4,4,4,5,5,5,5",
                                  "clex:1", "none"};

TEST(RopeScaling, LogitsDependOnlyOnRelativePositionUnderEveryType) {
  at::manual_seed(5);
  const auto q = at::randn({48, 32}), k = at::randn({48, 32});
  const auto pa = at::randint(0, 60, {48}, at::kLong), pb = at::randint(0, 60, {48}, at::kLong);
  for (const char* s : kEveryType) {
    const ArchSpec a = arch_of(s, 16, 1e4, 32);
    for (int64_t seq_len : {8, 64}) {  // inside and past the trained length
      const auto l0 = rotary_logits(a, q, k, pa, pb, seq_len, at::kFloat);
      const auto l17 = rotary_logits(a, q, k, pa + 17, pb + 17, seq_len, at::kFloat);
      EXPECT_LE((l0 - l17).abs().max().item<float>(), 1e-5) << s << " n=" << seq_len;
    }
  }
}

// ---- whole tiny model (trained length kL) ----

constexpr int64_t kL = 32;

std::shared_ptr<const Transformer> tiny(const std::string& scaling) {
  static const auto base = Transformer::random_init(arch_of("", kL, 1e4, 32), 11);
  return base->with_changes(arch_of(scaling, kL, 1e4, 32), {});
}

at::Tensor packed_states(const Transformer& m, const std::vector<at::Tensor>& seqs) {
  Capture c;
  c.hooks = {"hidden_states.2"};
  PackedInput in;
  in.input_ids = at::cat(seqs);
  for (const auto& t : seqs) in.lengths.push_back(t.size(0));
  return m.forward_packed(in, c).hooks.at("hidden_states.2");
}

ForwardOutput run_padded(const Transformer& m, const at::Tensor& ids, const at::Tensor& pos) {
  Capture c;
  c.hooks = {"hidden_states.2"};
  c.logits = true;
  return m.forward({ids.unsqueeze(0), pos.unsqueeze(0), {}, {}}, c);
}

TEST(RopeScaling, TinyModelLogitsAreShiftInvariant) {
  at::manual_seed(2);
  const auto ids = at::randint(0, 50, {40}, at::kLong);
  // The length is max(position) + 1, so the shift by 17 must stay in one regime: clex 40 and 57 are both t = 2
  // of L = 32; longrope both past L; dynamic (whose base follows the length) 12 and 29, both inside L.
  for (const char* s : kEveryType) {
    const auto m = tiny(s);
    const bool dyn = m->arch().rope_scaling == RopeScaling::Dynamic;
    const auto x = dyn ? ids.slice(0, 0, 12) : ids;
    const int64_t n = x.size(0);
    const auto a = run_padded(*m, x, at::arange(n, at::kLong)).logits;
    const auto b = run_padded(*m, x, at::arange(n, at::kLong) + (dyn ? 0 : 17)).logits;
    EXPECT_LE((a - b).abs().max().item<float>(), 1e-5) << s << " max |logit| " << a.abs().max().item<float>();
    EXPECT_GT(a.abs().max().item<float>(), 0.1) << s;  // logits large enough for the bound to mean something
  }
}

TEST(RopeScaling, DynamicWithinTheTrainedLengthIsTheDefaultModel) {
  at::manual_seed(4);
  const auto ids = at::randint(0, 50, {kL + 4}, at::kLong);
  const auto plain = tiny(""), dyn = tiny("dynamic:2");
  const auto inside = ids.slice(0, 0, kL), pos_in = at::arange(kL, at::kLong), pos_past = at::arange(kL + 4, at::kLong);
  EXPECT_TRUE(at::equal(run_padded(*plain, inside, pos_in).logits, run_padded(*dyn, inside, pos_in).logits));
  EXPECT_GT((run_padded(*plain, ids, pos_past).logits - run_padded(*dyn, ids, pos_past).logits).abs().max().item<float>(),
            1e-4);
}

// A sequence's states under a length-dependent type: alone, after a longer one, packed beside a longer one
// (both orders), and sharing a padded row with it. HF's grow-only cache fails the second and third.
TEST(RopeScaling, LengthDependentTypesUseEachSequencesOwnLength) {
  at::manual_seed(6);
  const int64_t nA = 40, nB = 72;  // both past L = 32; B is longer (clex: t = 2 and 3)
  const auto A = at::randint(0, 50, {nA}, at::kLong), B = at::randint(0, 50, {nB}, at::kLong);
  const auto plain = tiny("");
  for (const char* s : {"dynamic:2", "clex:1", kEveryType[4]}) {
    const auto m = tiny(s);
    const auto alone = packed_states(*m, {A});
    packed_states(*m, {B});  // "after a longer one": nothing may carry over
    EXPECT_TRUE(at::equal(alone, packed_states(*m, {A}))) << s;
    EXPECT_LE((alone - packed_states(*m, {B, A}).slice(0, nB, nB + nA)).abs().max().item<float>(), 1e-5) << s;
    EXPECT_LE((alone - packed_states(*m, {A, B}).slice(0, 0, nA)).abs().max().item<float>(), 1e-5) << s;
    // Padded forward: A alone, and A after B in one row (positions restart, block-diagonal causal mask).
    Capture c;
    c.hooks = {"hidden_states.2"};
    const auto padded_alone = run_padded(*m, A, at::arange(nA, at::kLong)).hooks.at("hidden_states.2")[0];
    auto keep = at::zeros({nA + nB, nA + nB}, at::kBool);
    keep.slice(0, 0, nB).slice(1, 0, nB).copy_(at::ones({nB, nB}, at::kBool).tril());
    keep.slice(0, nB).slice(1, nB).copy_(at::ones({nA, nA}, at::kBool).tril());
    const auto pos = at::cat({at::arange(nB, at::kLong), at::arange(nA, at::kLong)});
    const auto row = m->forward({at::cat({B, A}).unsqueeze(0), pos.unsqueeze(0), keep.unsqueeze(0), {}}, c)
                         .hooks.at("hidden_states.2")[0]
                         .slice(0, nB);
    EXPECT_LE((padded_alone - alone).abs().max().item<float>(), 1e-5) << s;
    EXPECT_LE((padded_alone - row).abs().max().item<float>(), 1e-5) << s;
    // Not vacuous: past L the scaling changes A's states, and B's length would give others.
    EXPECT_GT((alone - packed_states(*plain, {A})).abs().max().item<float>(), 1e-4) << s;
  }
}

// --rope-scaling reaches the model through LoadOptions, and is refused before loading where it cannot apply.
TEST(RopeScaling, LoadOptionOverridesTheCheckpointAndRefusesLearnedPositions) {
  LoadOptions lo;
  lo.rope_scaling = "yarn:4";
  const auto llama = open_model(ModelSource::directory(test::write_tiny(test::Tiny::LLaMALinearRope)), lo);
  const ArchSpec& a = llama.engine->model().arch();
  EXPECT_EQ(a.rope_scaling, RopeScaling::Yarn);  // the checkpoint's linear:2 is replaced
  EXPECT_EQ(a.rope_factor, 4.0);
  EXPECT_EQ(a.max_positions, 4 * a.max_position_embeddings);
  std::string err;
  try {
    open_model(ModelSource::directory(test::write_tiny(test::Tiny::GPT2)), lo);
  } catch (const InputError& e) {
    err = e.what();
  }
  EXPECT_EQ(err.rfind("--rope-scaling: rope scaling 'yarn' applies to rotary (LLaMA-family) models only", 0), 0u) << err;
  lo.rope_scaling = "yarn:four";
  EXPECT_THROW(open_model(ModelSource::directory(test::write_tiny(test::Tiny::LLaMA)), lo), InputError);
}

}  // namespace
}  // namespace ps::models
