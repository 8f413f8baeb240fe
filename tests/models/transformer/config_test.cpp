// ArchSpec parsing and the weight map, against the real HF field and tensor names.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "models/config/arch.h"
#include "models/config/weights_map.h"
#include "models/util/error.h"

namespace ps::models {
namespace {

using nlohmann::json;

std::string error_of(const std::string& text) {
  try {
    parse_arch(text, "m/config.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "<no error>";
}

const json kGpt2 = {{"model_type", "gpt2"}, {"vocab_size", 50257}, {"n_embd", 768}, {"n_layer", 12}, {"n_head", 12},
                    {"n_positions", 1024}, {"n_inner", nullptr}, {"activation_function", "gelu_new"},
                    {"layer_norm_epsilon", 1e-5}, {"bos_token_id", 50256}, {"eos_token_id", 50256}};

TEST(ArchSpec, Gpt2) {
  const ArchSpec a = parse_arch(kGpt2.dump(), "c");
  EXPECT_EQ(a.family, Family::GPT2);
  EXPECT_EQ(a.d_model, 768);
  EXPECT_EQ(a.d_ff, 3072);
  EXPECT_EQ(a.head_dim, 64);
  EXPECT_EQ(a.max_positions, 1024);
  EXPECT_EQ(a.activation, Activation::GeluNew);
  EXPECT_TRUE(a.causal);
  EXPECT_TRUE(a.tie_word_embeddings);
  EXPECT_EQ(a.pad_token_id, -1);
  EXPECT_EQ(a.eos_token_id, 50256);
}

TEST(ArchSpec, RobertaPositionsStartAfterPadding) {
  const json c = {{"model_type", "roberta"}, {"vocab_size", 50265}, {"hidden_size", 768}, {"num_hidden_layers", 12},
                  {"num_attention_heads", 12}, {"intermediate_size", 3072}, {"hidden_act", "gelu"},
                  {"max_position_embeddings", 514}, {"type_vocab_size", 1}, {"layer_norm_eps", 1e-5},
                  {"pad_token_id", 1}};
  const ArchSpec a = parse_arch(c.dump(), "c");
  EXPECT_EQ(a.family, Family::BERT);
  EXPECT_EQ(a.position_offset, 2);
  EXPECT_EQ(a.max_positions, 512);
  EXPECT_EQ(a.activation, Activation::Gelu);
  EXPECT_FALSE(a.causal);
  json b = c;
  b["model_type"] = "bert";
  b["pad_token_id"] = 0;
  EXPECT_EQ(parse_arch(b.dump(), "c").position_offset, 0);
}

TEST(ArchSpec, LlamaGqaRopeScalingAndDefaults) {
  json c = {{"model_type", "llama"}, {"vocab_size", 32000}, {"hidden_size", 4096}, {"intermediate_size", 11008},
            {"num_hidden_layers", 32}, {"num_attention_heads", 32}, {"num_key_value_heads", 8},
            {"max_position_embeddings", 4096}, {"rms_norm_eps", 1e-5}, {"hidden_act", "silu"},
            {"rope_scaling", {{"type", "dynamic"}, {"factor", 2.0}}}, {"eos_token_id", {128001, 128009}}};
  ArchSpec a = parse_arch(c.dump(), "c");
  EXPECT_EQ(a.family, Family::LLaMA);
  EXPECT_EQ(a.n_kv_heads, 8);
  EXPECT_EQ(a.head_dim, 128);
  EXPECT_EQ(a.rope_theta, 10000.0);
  EXPECT_EQ(a.rope_scaling, RopeScaling::Dynamic);
  EXPECT_EQ(a.rope_factor, 2.0);
  EXPECT_FALSE(a.tie_word_embeddings);  // LlamaConfig's default
  EXPECT_FALSE(a.qkv_bias);
  EXPECT_EQ(a.eos_token_id, 128001);
  c["model_type"] = "qwen2";
  c["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 4}};
  a = parse_arch(c.dump(), "c");
  EXPECT_TRUE(a.qkv_bias);
  EXPECT_FALSE(a.o_bias);
  EXPECT_EQ(a.rope_scaling, RopeScaling::Linear);
}

TEST(ArchSpec, ErrorsNameFileAndField) {
  json c = kGpt2;
  c["model_type"] = "t5";
  EXPECT_EQ(error_of(c.dump()).rfind("m/config.json: field 'model_type': unsupported 't5'", 0), 0u) << error_of(c.dump());
  c = kGpt2;
  c.erase("n_embd");
  EXPECT_EQ(error_of(c.dump()), "m/config.json: field 'n_embd': missing");
  c = kGpt2;
  c["n_head"] = "twelve";
  EXPECT_EQ(error_of(c.dump()), "m/config.json: field 'n_head': expected an integer, got string");
  c = kGpt2;
  c["n_head"] = 7;
  EXPECT_EQ(error_of(c.dump()), "m/config.json: field 'n_head': must divide the hidden size");
  c = kGpt2;
  c["activation_function"] = "mish";
  EXPECT_NE(error_of(c.dump()).find("field 'activation_function': unsupported activation 'mish'"), std::string::npos);
  const std::string bad = error_of("{\"model_type\": \"gpt2\",\n \"n_embd\": }");
  EXPECT_EQ(bad.rfind("m/config.json: not valid JSON", 0), 0u);
  EXPECT_EQ(bad.find('\n'), std::string::npos);
  EXPECT_EQ(error_of("[1,2]"), "m/config.json: expected a JSON object at the top level");
  EXPECT_THROW(load_arch("/nonexistent/config.json"), InputError);
}

TEST(WeightsMap, Gpt2Conv1DIsTransposedAndHeadOptional) {
  const ArchSpec a = parse_arch(kGpt2.dump(), "c");
  const auto specs = expected_weights(a);
  bool saw_cattn = false;
  for (const auto& s : specs) {
    if (s.key == "blocks.3.attn.qkv.weight") {
      saw_cattn = true;
      EXPECT_EQ(s.hf_names.at(0), "h.3.attn.c_attn.weight");
      EXPECT_EQ(s.hf_shape, (std::vector<int64_t>{768, 2304}));
      EXPECT_TRUE(s.transpose);
    }
    if (s.key == "unembed.weight") {
      EXPECT_TRUE(s.optional && s.top_level);
    }
  }
  EXPECT_TRUE(saw_cattn);
  EXPECT_EQ(detect_prefix(a, {"transformer.wte.weight"}, "f"), "transformer.");
  EXPECT_EQ(detect_prefix(a, {"wte.weight", "h.0.attn.bias"}, "f"), "");
  try {
    resolve_weights(a, {"transformer.wte.weight"}, "dir/model.safetensors");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "dir/model.safetensors: tensor 'transformer.wpe.weight': missing (needed for embed.positions)");
  }
}

// Found by fuzz_config: a number too large for a double is nlohmann's out_of_range, not a parse_error;
// it escaped parse_arch as a non-ps exception (uncaught: the process aborted).
TEST(ArchSpec, NumberOverflowIsAnInputError) {
  const std::string e = error_of(R"({"model_type": "gpt2", "layer_norm_epsilon": 1e999})");
  EXPECT_EQ(e.rfind("m/config.json: not valid JSON: ", 0), 0u) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace ps::models
