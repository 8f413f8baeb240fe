// RoPE scaling settings: config.json's rope_scaling (HF keys, legacy `type`), the --rope-scaling grammar,
// and the resolved values (attention factors, trained lengths) apply_rope_scaling derives as HF does.
#include <gtest/gtest.h>

#include <functional>

#include <nlohmann/json.hpp>

#include "models/config/arch.h"
#include "models/config/rope_scaling.h"
#include "models/util/error.h"

namespace ps::models {
namespace {

using nlohmann::json;

json llama_config(int64_t max_pos = 4096, int64_t hidden = 4096, int64_t heads = 32) {
  return {{"model_type", "llama"}, {"vocab_size", 1000}, {"hidden_size", hidden}, {"intermediate_size", 64},
          {"num_hidden_layers", 2}, {"num_attention_heads", heads}, {"max_position_embeddings", max_pos}};
}

ArchSpec with_scaling(const json& rs, int64_t max_pos = 4096) {
  json c = llama_config(max_pos);
  c["rope_scaling"] = rs;
  return parse_arch(c.dump(), "m/config.json");
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(RopeScalingSpec, GrammarGivesHfObjects) {
  EXPECT_EQ(parse_rope_scaling_spec("yarn:4"), (json{{"rope_type", "yarn"}, {"factor", 4.0}}));
  EXPECT_EQ(parse_rope_scaling_spec("none"), (json{{"rope_type", "default"}}));
  EXPECT_EQ(parse_rope_scaling_spec("llama3:8:low_freq_factor=1:high_freq_factor=4:original_max_position_embeddings=8192"),
            (json{{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
                  {"original_max_position_embeddings", 8192}}));
  EXPECT_EQ(parse_rope_scaling_spec("clex:1:max_factor=16"), (json{{"rope_type", "clex"}, {"factor", 1.0}, {"max_factor", 16}}));
  EXPECT_EQ(parse_rope_scaling_spec("yarn:16:truncate=false:beta_fast=64")["truncate"], false);
  EXPECT_EQ(parse_rope_scaling_spec("longrope:2:short_factor=1,1.5:long_factor=2,3")["long_factor"], (json{2.0, 3.0}));
}

TEST(RopeScalingSpec, BadTextIsOneLineInputError) {
  for (const std::string bad : {"", "ntk:2", "yarn", "yarn:", "yarn:four", "yarn:4:beta=3", "yarn:4:beta_fast",
                                "dynamic:2:original_max_position_embeddings=1.5", "yarn:4:truncate=maybe",
                                "none:2", "linear:2:factor=3", "yarn:4:beta_fast=3:beta_fast=4"}) {
    const std::string e = error_of([&] { parse_rope_scaling_spec(bad); });
    EXPECT_EQ(e.rfind("rope scaling '" + bad + "'", 0), 0u) << bad << " -> " << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
  EXPECT_NE(error_of([] { parse_rope_scaling_spec("yarn:4:beta=3"); }).find("its keys: attention_factor, beta_fast"),
            std::string::npos);
}

TEST(RopeScalingConfig, LegacyTypeKeyAndDefault) {
  EXPECT_EQ(with_scaling({{"type", "dynamic"}, {"factor", 2.0}}).rope_scaling, RopeScaling::Dynamic);
  EXPECT_EQ(with_scaling({{"rope_type", "linear"}, {"factor", 2}}).rope_scaling, RopeScaling::Linear);
  const ArchSpec d = with_scaling({{"rope_type", "default"}});
  EXPECT_EQ(d.rope_scaling, RopeScaling::None);
  EXPECT_EQ(d.max_positions, 4096);
  EXPECT_EQ(parse_arch(llama_config().dump(), "c").rope_scaling_json, "");
}

TEST(RopeScalingConfig, YarnAttentionFactorsAndTargetLength) {
  ArchSpec a = with_scaling({{"rope_type", "yarn"}, {"factor", 16.0}});
  EXPECT_NEAR(a.rope_attention_factor, 1.27726, 1e-5);
  EXPECT_EQ(a.rope_original_max_positions, 4096);
  EXPECT_EQ(a.max_positions, 16 * 4096);  // the scaled length is accepted
  EXPECT_NEAR(with_scaling({{"rope_type", "yarn"}, {"factor", 32.0}}).rope_attention_factor, 1.34657, 1e-5);
  EXPECT_NEAR(with_scaling({{"rope_type", "yarn"}, {"factor", 4.0}}, 2048).rope_attention_factor, 1.13863, 1e-5);
  // An explicit attention_factor wins; DeepSeek-V3's mscale pair gives the ratio of two mscales (1 when equal).
  EXPECT_EQ(with_scaling({{"rope_type", "yarn"}, {"factor", 4.0}, {"attention_factor", 0.5}}).rope_attention_factor, 0.5);
  EXPECT_DOUBLE_EQ(
      with_scaling({{"rope_type", "yarn"}, {"factor", 40.0}, {"mscale", 1.0}, {"mscale_all_dim", 1.0}}).rope_attention_factor,
      1.0);
  // Without factor, original_max_position_embeddings gives it as max / original.
  a = with_scaling({{"rope_type", "yarn"}, {"original_max_position_embeddings", 1024}});
  EXPECT_EQ(a.rope_factor, 4.0);
  EXPECT_EQ(a.rope_original_max_positions, 1024);
}

TEST(RopeScalingConfig, LongRopeFromPhi3StyleTopLevelLength) {
  json c = llama_config(131072, 96 * 32, 32);  // head_dim 96 → 48 factors, as Phi-3-mini-128k
  c["original_max_position_embeddings"] = 4096;
  c["rope_scaling"] = {{"type", "longrope"}, {"short_factor", std::vector<double>(48, 1.0)},
                       {"long_factor", std::vector<double>(48, 2.0)}};
  const ArchSpec a = parse_arch(c.dump(), "c");
  EXPECT_EQ(a.rope_scaling, RopeScaling::LongRope);
  EXPECT_EQ(a.rope_original_max_positions, 4096);
  EXPECT_EQ(a.rope_factor, 32.0);
  EXPECT_NEAR(a.rope_attention_factor, 1.19024, 1e-5);
  c["rope_scaling"]["long_factor"] = std::vector<double>(47, 2.0);
  EXPECT_EQ(error_of([&] { parse_arch(c.dump(), "m/config.json"); }),
            "m/config.json: field 'rope_scaling.long_factor': has 47 entries; head_dim/2 = 48 are needed");
}

TEST(RopeScalingConfig, BadValuesNameFileAndKey) {
  auto err = [](const json& rs) { return error_of([&] { with_scaling(rs); }); };
  EXPECT_EQ(err({{"rope_type", "yarn"}}), "m/config.json: field 'rope_scaling.factor': missing");
  EXPECT_EQ(err({{"rope_type", "linear"}, {"factor", "2"}}),
            "m/config.json: field 'rope_scaling.factor': expected a number, got string");
  EXPECT_EQ(err({{"rope_type", "linear"}, {"factor", 0.5}}),
            "m/config.json: field 'rope_scaling.factor': must be at least 1, got 0.500000");
  EXPECT_EQ(err({{"factor", 2.0}}), "m/config.json: field 'rope_scaling.rope_type': missing");
  EXPECT_EQ(err({{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 4.0}, {"high_freq_factor", 1.0}}),
            "m/config.json: field 'rope_scaling.high_freq_factor': must exceed low_freq_factor");
  EXPECT_EQ(err({{"rope_type", "yarn"}, {"factor", 4.0}, {"truncate", 1}}),
            "m/config.json: field 'rope_scaling.truncate': expected true/false, got number");
  EXPECT_EQ(err({{"rope_type", "clex"}, {"max_factor", 0}}),
            "m/config.json: field 'rope_scaling.max_factor': must be a positive integer below 2^31, got 0");
  EXPECT_EQ(err({{"rope_type", "ntk"}, {"factor", 2.0}}).rfind("m/config.json: field 'rope_scaling.rope_type': unsupported 'ntk'", 0), 0u);
}

TEST(RopeScalingConfig, OverrideReplacesAndRefusesLearnedPositions) {
  ArchSpec a = with_scaling({{"rope_type", "yarn"}, {"factor", 16.0}});
  apply_rope_scaling(a, parse_rope_scaling_spec("clex:1:max_factor=8"), "--rope-scaling");
  EXPECT_EQ(a.rope_scaling, RopeScaling::Clex);
  EXPECT_EQ(a.rope_attention_factor, 1.0);  // nothing of the checkpoint's yarn survives
  EXPECT_EQ(a.max_positions, 8 * 4096);
  EXPECT_EQ(describe_rope_scaling(a), "clex original=4096 max_factor=8");
  apply_rope_scaling(a, parse_rope_scaling_spec("none"), "--rope-scaling");
  EXPECT_EQ(a.rope_scaling, RopeScaling::None);
  EXPECT_EQ(a.max_positions, 4096);

  const json gpt2 = {{"model_type", "gpt2"}, {"vocab_size", 100}, {"n_embd", 32}, {"n_layer", 2}, {"n_head", 2},
                     {"n_positions", 64}};
  ArchSpec g = parse_arch(gpt2.dump(), "c");
  EXPECT_EQ(error_of([&] { apply_rope_scaling(g, parse_rope_scaling_spec("yarn:4"), "--rope-scaling"); }),
            "--rope-scaling: rope scaling 'yarn' applies to rotary (LLaMA-family) models only; this gpt2 model has "
            "learned absolute positions");
}

}  // namespace
}  // namespace ps::models
