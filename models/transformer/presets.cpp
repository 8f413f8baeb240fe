#include "models/transformer/presets.h"

#include "models/util/error.h"

namespace ps::models {

std::vector<std::string> arch_preset_names() { return {"gpt2-small", "codebert", "llama-mini"}; }

ArchSpec arch_preset(const std::string& name) {
  ArchSpec a;
  if (name == "gpt2-small") {  // openai-community/gpt2
    a.family = Family::GPT2;
    a.model_type = "gpt2";
    a.vocab_size = 50257, a.d_model = 768, a.n_layers = 12, a.n_heads = 12, a.n_kv_heads = 12;
    a.head_dim = 64, a.d_ff = 3072, a.max_positions = a.max_position_embeddings = 1024;
    a.norm_eps = 1e-5, a.activation = Activation::GeluNew, a.causal = true;
    a.bos_token_id = a.eos_token_id = 50256;
  } else if (name == "codebert") {  // microsoft/codebert-base (RoBERTa-base)
    a.family = Family::BERT;
    a.model_type = "roberta";
    a.vocab_size = 50265, a.d_model = 768, a.n_layers = 12, a.n_heads = 12, a.n_kv_heads = 12;
    a.head_dim = 64, a.d_ff = 3072, a.max_position_embeddings = 514, a.position_offset = 2;
    a.max_positions = 512, a.type_vocab_size = 1, a.norm_eps = 1e-5, a.activation = Activation::Gelu;
    a.causal = false, a.pad_token_id = 1, a.bos_token_id = 0, a.eos_token_id = 2;
  } else if (name == "llama-mini") {  // TinyLlama-1.1B widths, 4 layers so a CPU benchmark stays short
    a.family = Family::LLaMA;
    a.model_type = "llama";
    a.vocab_size = 32000, a.d_model = 2048, a.n_layers = 4, a.n_heads = 32, a.n_kv_heads = 4;
    a.head_dim = 64, a.d_ff = 5632, a.max_positions = a.max_position_embeddings = 2048;
    a.norm = NormKind::RMSNorm, a.norm_eps = 1e-5, a.activation = Activation::Silu;
    a.positional = PositionalKind::Rotary, a.qkv_bias = a.o_bias = a.mlp_bias = false;
    a.causal = true, a.tie_word_embeddings = false, a.bos_token_id = 1, a.eos_token_id = 2;
  } else {
    std::string known;
    for (const auto& n : arch_preset_names()) known += (known.empty() ? "" : ", ") + n;
    throw InputError("--preset: unknown architecture '" + name + "' (known: " + known + ")");
  }
  return a;
}

std::shared_ptr<const Transformer> random_model_preset(const std::string& name, at::ScalarType dtype, uint64_t seed,
                                                       at::Device device) {
  return Transformer::random_init(arch_preset(name), seed, dtype, device);
}

}  // namespace ps::models
