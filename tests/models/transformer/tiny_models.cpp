#include "tests/models/transformer/tiny_models.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "models/safetensors/safetensors.h"
#include "models/util/files.h"
#include "tests/common/scratch.h"

namespace ps::test {

namespace {

constexpr int64_t D = 32, L = 2, H = 4, FF = 64;

struct Gen {
  at::Generator g;
  explicit Gen(uint64_t seed) : g(at::make_generator<at::CPUGeneratorImpl>(seed)) {}
  at::Tensor w(std::vector<int64_t> shape, double std = 0.25) { return at::empty(shape).normal_(0, std, g); }
  at::Tensor gain(int64_t n) { return at::empty({n}).normal_(1.0, 0.1, g); }
};

void gpt2(TinySpec& s, Gen& g, int64_t V, int64_t P) {
  s.config_json = nlohmann::json{{"model_type", "gpt2"}, {"architectures", {"GPT2LMHeadModel"}},
                                 {"vocab_size", V}, {"n_embd", D}, {"n_layer", L}, {"n_head", H},
                                 {"n_positions", P}, {"n_inner", nullptr}, {"activation_function", "gelu_new"},
                                 {"layer_norm_epsilon", 1e-5}, {"bos_token_id", 0}, {"eos_token_id", 0}}.dump(2);
  auto& t = s.tensors;
  t["transformer.wte.weight"] = g.w({V, D}, 0.5);
  t["transformer.wpe.weight"] = g.w({P, D}, 0.3);
  for (int l = 0; l < L; ++l) {
    const std::string p = "transformer.h." + std::to_string(l) + ".";
    t[p + "ln_1.weight"] = g.gain(D), t[p + "ln_1.bias"] = g.w({D}, 0.1);
    t[p + "attn.c_attn.weight"] = g.w({D, 3 * D}), t[p + "attn.c_attn.bias"] = g.w({3 * D}, 0.1);
    t[p + "attn.c_proj.weight"] = g.w({D, D}), t[p + "attn.c_proj.bias"] = g.w({D}, 0.1);
    t[p + "ln_2.weight"] = g.gain(D), t[p + "ln_2.bias"] = g.w({D}, 0.1);
    t[p + "mlp.c_fc.weight"] = g.w({D, 4 * D}), t[p + "mlp.c_fc.bias"] = g.w({4 * D}, 0.1);
    t[p + "mlp.c_proj.weight"] = g.w({4 * D, D}, 0.1), t[p + "mlp.c_proj.bias"] = g.w({D}, 0.1);
  }
  t["transformer.ln_f.weight"] = g.gain(D), t["transformer.ln_f.bias"] = g.w({D}, 0.1);
}

void roberta(TinySpec& s, Gen& g, int64_t V, int64_t P) {
  s.config_json = nlohmann::json{{"model_type", "roberta"}, {"architectures", {"RobertaForMaskedLM"}},
                                 {"vocab_size", V}, {"hidden_size", D}, {"num_hidden_layers", L},
                                 {"num_attention_heads", H}, {"intermediate_size", FF}, {"hidden_act", "gelu"},
                                 {"max_position_embeddings", P + 2}, {"type_vocab_size", 1},
                                 {"layer_norm_eps", 1e-5}, {"pad_token_id", 1}, {"bos_token_id", 0},
                                 {"eos_token_id", 2}, {"position_embedding_type", "absolute"}}.dump(2);
  auto& t = s.tensors;
  const std::string e = "roberta.embeddings.";
  t[e + "word_embeddings.weight"] = g.w({V, D}, 0.5);
  t[e + "position_embeddings.weight"] = g.w({P + 2, D}, 0.5);
  t[e + "token_type_embeddings.weight"] = g.w({1, D}, 0.2);
  t[e + "LayerNorm.weight"] = g.gain(D), t[e + "LayerNorm.bias"] = g.w({D}, 0.1);
  auto lin = [&](const std::string& n, int64_t o, int64_t i) {
    t[n + ".weight"] = g.w({o, i}), t[n + ".bias"] = g.w({o}, 0.1);
  };
  auto ln = [&](const std::string& n) { t[n + ".weight"] = g.gain(D), t[n + ".bias"] = g.w({D}, 0.1); };
  for (int l = 0; l < L; ++l) {
    const std::string p = "roberta.encoder.layer." + std::to_string(l) + ".";
    lin(p + "attention.self.query", D, D), lin(p + "attention.self.key", D, D);
    lin(p + "attention.self.value", D, D), lin(p + "attention.output.dense", D, D);
    ln(p + "attention.output.LayerNorm");
    lin(p + "intermediate.dense", FF, D), lin(p + "output.dense", D, FF);
    ln(p + "output.LayerNorm");
  }
  lin("lm_head.dense", D, D), ln("lm_head.layer_norm");
  t["lm_head.bias"] = g.w({V}, 0.1);
}

void llama(TinySpec& s, Gen& g, Tiny kind, int64_t V, int64_t P) {
  const bool qwen = kind == Tiny::Qwen2;
  const int64_t KV = 2, hd = D / H;
  nlohmann::json c{{"model_type", qwen ? "qwen2" : "llama"}, {"vocab_size", V}, {"hidden_size", D},
                   {"intermediate_size", FF}, {"num_hidden_layers", L}, {"num_attention_heads", H},
                   {"num_key_value_heads", KV}, {"max_position_embeddings", P}, {"rms_norm_eps", 1e-6},
                   {"rope_theta", qwen ? 1000000.0 : 10000.0}, {"hidden_act", "silu"},
                   {"tie_word_embeddings", qwen}, {"bos_token_id", 1}, {"eos_token_id", 2},
                   {"rope_scaling", nullptr}, {"attention_bias", false}};
  if (kind == Tiny::LLaMALinearRope) c["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  s.config_json = c.dump(2);
  auto& t = s.tensors;
  t["model.embed_tokens.weight"] = g.w({V, D}, 0.5);
  for (int l = 0; l < L; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    t[p + "input_layernorm.weight"] = g.gain(D);
    t[p + "self_attn.q_proj.weight"] = g.w({H * hd, D}, 0.4);
    t[p + "self_attn.k_proj.weight"] = g.w({KV * hd, D}, 0.4);
    t[p + "self_attn.v_proj.weight"] = g.w({KV * hd, D});
    t[p + "self_attn.o_proj.weight"] = g.w({D, H * hd});
    if (qwen) {
      t[p + "self_attn.q_proj.bias"] = g.w({H * hd}, 0.2);
      t[p + "self_attn.k_proj.bias"] = g.w({KV * hd}, 0.2);
      t[p + "self_attn.v_proj.bias"] = g.w({KV * hd}, 0.2);
    }
    t[p + "post_attention_layernorm.weight"] = g.gain(D);
    t[p + "mlp.gate_proj.weight"] = g.w({FF, D});
    t[p + "mlp.up_proj.weight"] = g.w({FF, D});
    t[p + "mlp.down_proj.weight"] = g.w({D, FF}, 0.15);
  }
  t["model.norm.weight"] = g.gain(D);
  if (!qwen) t["lm_head.weight"] = g.w({V, D});
}

}  // namespace

const char* tiny_name(Tiny t) {
  switch (t) {
    case Tiny::GPT2: return "gpt2";
    case Tiny::RoBERTa: return "roberta";
    case Tiny::LLaMA: return "llama";
    case Tiny::LLaMALinearRope: return "llama_linear_rope";
    case Tiny::Qwen2: return "qwen2";
  }
  return "?";
}

TinySpec tiny_spec(Tiny kind, uint64_t seed, TinyDims dims) {
  const int64_t V = dims.vocab, P = dims.positions;
  TinySpec s;
  Gen g(seed * 7919 + static_cast<uint64_t>(kind));
  switch (kind) {
    case Tiny::GPT2: gpt2(s, g, V, P); break;
    case Tiny::RoBERTa: roberta(s, g, V, P); break;
    default: llama(s, g, kind, V, P); break;
  }
  return s;
}

void write_model(const std::string& dir, const TinySpec& spec, bool bf16) {
  std::filesystem::create_directories(dir);
  write_file_atomic(dir + "/config.json", spec.config_json);
  std::vector<st::TensorData> out;
  for (const auto& [name, t0] : spec.tensors) {
    const auto t = t0.to(bf16 ? at::kBFloat16 : at::kFloat).contiguous();
    st::TensorData d;
    d.name = name;
    d.dtype = bf16 ? st::DType::BF16 : st::DType::F32;
    d.shape.assign(t.sizes().begin(), t.sizes().end());
    d.bytes.assign(static_cast<const char*>(t.data_ptr()), t.nbytes());
    out.push_back(std::move(d));
  }
  st::write(dir + "/model.safetensors", out, {{"format", "pt"}});
}

std::string temp_dir(const std::string& tag) {
  return ps::test::scratch_dir(tag).string();
}

std::string write_tiny(Tiny kind, uint64_t seed) {
  const std::string dir = temp_dir(tiny_name(kind));
  write_model(dir, tiny_spec(kind, seed));
  return dir;
}

}  // namespace ps::test
