// Sizes claimed by an untrusted config.json: checked against int limits and overflow at parse time, and
// against the tensors a checkpoint really holds before anything per layer is built.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/config/arch.h"
#include "models/config/weights_map.h"
#include "models/util/error.h"
#include "tests/common/scratch.h"

namespace ps::models {
namespace {

using nlohmann::json;

const json kTinyGpt2 = {{"model_type", "gpt2"}, {"vocab_size", 50}, {"n_embd", 32}, {"n_layer", 2},
                        {"n_head", 4},        {"n_positions", 64}};

std::string parse_error(const json& config) {
  try {
    parse_arch(config.dump(), "m/config.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "<no error>";
}

std::string resolve_error(const ArchSpec& a, const std::vector<std::string>& names) {
  try {
    resolve_weights(a, names, "m/model.safetensors");
  } catch (const InputError& e) {
    return e.what();
  }
  return "<no error>";
}

// The checkpoint names of the tiny 2-layer GPT-2 (prefix "transformer.").
std::vector<std::string> tiny_names() {
  std::vector<std::string> names;
  for (const auto& s : expected_weights(parse_arch(kTinyGpt2.dump(), "c")))
    if (!s.optional) names.push_back("transformer." + s.hf_names.front());
  return names;
}

TEST(ConfigLimits, HugeLayerCountStopsAtTheFirstMissingLayer) {
  json c = kTinyGpt2;
  c["n_layer"] = 1000000000;
  const ArchSpec a = parse_arch(c.dump(), "m/config.json");  // plausible alone: 1e9 layers of 12k parameters
  EXPECT_EQ(resolve_error(a, tiny_names()),
            "m/model.safetensors: tensor 'transformer.h.2.ln_1.weight': missing (needed for blocks.2.ln1.weight; "
            "config.json claims 1000000000 layers, the checkpoint holds 2)");
}

TEST(ConfigLimits, MissingTensorIsNamed) {
  auto names = tiny_names();
  names.erase(std::find(names.begin(), names.end(), "transformer.h.1.mlp.c_fc.weight"));
  EXPECT_EQ(resolve_error(parse_arch(kTinyGpt2.dump(), "c"), names),
            "m/model.safetensors: tensor 'transformer.h.1.mlp.c_fc.weight': missing (needed for blocks.1.mlp.in.weight)");
  EXPECT_EQ(resolve_error(parse_arch(kTinyGpt2.dump(), "c"), tiny_names()), "<no error>");
}

TEST(ConfigLimits, HeadsMustDivideTheWidth) {
  json c = kTinyGpt2;
  c["n_head"] = 5;
  EXPECT_EQ(parse_error(c), "m/config.json: field 'n_head': must divide the hidden size");
  const json llama = {{"model_type", "llama"}, {"vocab_size", 50}, {"hidden_size", 32}, {"intermediate_size", 64},
                      {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"num_key_value_heads", 3},
                      {"max_position_embeddings", 64}};
  EXPECT_EQ(parse_error(llama), "m/config.json: field 'num_key_value_heads': must divide num_attention_heads (4)");
}

TEST(ConfigLimits, SizesBeyondInt32AreRejected) {
  for (const char* field : {"vocab_size", "n_embd", "n_layer", "n_positions"}) {
    json c = kTinyGpt2;
    c[field] = int64_t(1) << 40;
    EXPECT_EQ(parse_error(c), std::string("m/config.json: field '") + field + "': 1099511627776 exceeds 2147483647");
  }
  json c = kTinyGpt2;
  c["pad_token_id"] = int64_t(1) << 40;
  EXPECT_EQ(parse_error(c), "m/config.json: field 'pad_token_id': 1099511627776 exceeds 2147483647");
}

TEST(ConfigLimits, ParameterCountOverflowIsRejected) {
  json c = kTinyGpt2;
  c["n_embd"] = 2147483646;  // even, divisible by n_head 2
  c["n_head"] = 2;
  c["n_layer"] = 2147483647;
  EXPECT_EQ(parse_error(c), "m/config.json: field 'n_layer': the sizes claim more than 2^60 parameters (overflow)");
}

TEST(ConfigLimits, WeightTotalsMatchTheFullListWithoutBuildingIt) {
  const ArchSpec a = parse_arch(kTinyGpt2.dump(), "c");
  int64_t params = 0, tensors = 0;
  for (const auto& s : expected_weights(a)) {
    int64_t n = 1;
    for (int64_t d : s.hf_shape) n *= d;
    params += n, ++tensors;
  }
  const auto t = weight_totals(a, true);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->parameters, params);
  EXPECT_EQ(t->tensors, tensors);
  json huge = kTinyGpt2;
  huge["n_layer"] = 1000000000;
  EXPECT_EQ(weight_totals(parse_arch(huge.dump(), "c"))->tensors, 2 + 1000000000LL * 12 + 2);
}

TEST(ConfigLimits, OversizedConfigFileIsRefusedBeforeReading) {
  const std::string path = (ps::test::scratch_dir("config") / "config.json").string();
  std::ofstream(path) << std::string((16 << 20) + 1, ' ');
  try {
    load_arch(path);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": 16777217 bytes, more than the 16 MiB a config.json may have");
  }
}

}  // namespace
}  // namespace ps::models
