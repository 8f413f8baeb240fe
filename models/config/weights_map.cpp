#include "models/config/weights_map.h"

#include <algorithm>
#include <set>

#include "models/util/error.h"

namespace ps::models {

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

namespace {

struct Builder {
  std::vector<WeightSpec> out;
  WeightSpec& add(std::string key, std::vector<std::string> names, std::vector<int64_t> shape, Init init) {
    WeightSpec w;
    w.key = std::move(key);
    w.hf_names = std::move(names);
    w.hf_shape = std::move(shape);
    w.init = init;
    out.push_back(std::move(w));
    return out.back();
  }
  // weight [out,in] + optional bias [out]
  void linear(const std::string& key, const std::string& hf, int64_t o, int64_t i, bool bias, Init init = Init::Normal) {
    add(key + ".weight", {hf + ".weight"}, {o, i}, init);
    if (bias) add(key + ".bias", {hf + ".bias"}, {o}, Init::Zeros);
  }
  // GPT-2 Conv1D: weight stored [in,out]
  void conv1d(const std::string& key, const std::string& hf, int64_t o, int64_t i, Init init = Init::Normal) {
    add(key + ".weight", {hf + ".weight"}, {i, o}, init).transpose = true;
    add(key + ".bias", {hf + ".bias"}, {o}, Init::Zeros);
  }
  void norm(const std::string& key, const std::string& hf, int64_t d, bool bias, const std::string& w = "weight",
            const std::string& b = "bias") {
    add(key + ".weight", {hf + "." + w}, {d}, Init::Ones);
    if (bias) add(key + ".bias", {hf + "." + b}, {d}, Init::Zeros);
  }
};

void gpt2(const ArchSpec& a, Builder& b) {
  const int64_t d = a.d_model;
  b.add("embed.tokens", {"wte.weight"}, {a.vocab_size, d}, Init::Normal);
  b.add("embed.positions", {"wpe.weight"}, {a.max_position_embeddings, d}, Init::Normal);
  for (int64_t l = 0; l < a.n_layers; ++l) {
    const std::string k = "blocks." + std::to_string(l) + ".", h = "h." + std::to_string(l) + ".";
    b.norm(k + "ln1", h + "ln_1", d, true);
    b.conv1d(k + "attn.qkv", h + "attn.c_attn", 3 * d, d);
    b.conv1d(k + "attn.o", h + "attn.c_proj", d, d, Init::NormalResidual);
    b.norm(k + "ln2", h + "ln_2", d, true);
    b.conv1d(k + "mlp.in", h + "mlp.c_fc", a.d_ff, d);
    b.conv1d(k + "mlp.out", h + "mlp.c_proj", d, a.d_ff, Init::NormalResidual);
  }
  b.norm("ln_final", "ln_f", d, true);
  auto& u = b.add("unembed.weight", {"lm_head.weight"}, {a.vocab_size, d}, Init::Normal);
  u.top_level = u.optional = true;
}

void bert(const ArchSpec& a, Builder& b) {
  const int64_t d = a.d_model;
  const bool roberta = a.model_type != "bert";
  b.add("embed.tokens", {"embeddings.word_embeddings.weight"}, {a.vocab_size, d}, Init::Normal);
  b.add("embed.positions", {"embeddings.position_embeddings.weight"}, {a.max_position_embeddings, d}, Init::Normal);
  if (a.type_vocab_size > 0)
    b.add("embed.token_types", {"embeddings.token_type_embeddings.weight"}, {a.type_vocab_size, d}, Init::Normal);
  b.norm("embed.ln", "embeddings.LayerNorm", d, true);
  for (int64_t l = 0; l < a.n_layers; ++l) {
    const std::string k = "blocks." + std::to_string(l) + ".", h = "encoder.layer." + std::to_string(l) + ".";
    b.linear(k + "attn.q", h + "attention.self.query", d, d, true);
    b.linear(k + "attn.k", h + "attention.self.key", d, d, true);
    b.linear(k + "attn.v", h + "attention.self.value", d, d, true);
    b.linear(k + "attn.o", h + "attention.output.dense", d, d, true);
    b.norm(k + "ln1", h + "attention.output.LayerNorm", d, true);
    b.linear(k + "mlp.in", h + "intermediate.dense", a.d_ff, d, true);
    b.linear(k + "mlp.out", h + "output.dense", d, a.d_ff, true);
    b.norm(k + "ln2", h + "output.LayerNorm", d, true);
  }
  // Masked-LM head (RobertaForMaskedLM: lm_head.*, BertForMaskedLM: cls.predictions.*); optional.
  const std::string head = roberta ? "lm_head." : "cls.predictions.";
  const std::string dense = roberta ? "lm_head.dense" : "cls.predictions.transform.dense";
  const std::string ln = roberta ? "lm_head.layer_norm" : "cls.predictions.transform.LayerNorm";
  const size_t first = b.out.size();
  b.linear("mlm.dense", dense, d, d, true);
  b.norm("mlm.ln", ln, d, true);
  b.add("mlm.bias", {head + "bias", head + "decoder.bias"}, {a.vocab_size}, Init::Zeros);
  b.add("unembed.weight", {head + "decoder.weight"}, {a.vocab_size, d}, Init::Normal);
  for (size_t i = first; i < b.out.size(); ++i) b.out[i].top_level = b.out[i].optional = true;
}

void llama(const ArchSpec& a, Builder& b) {
  const int64_t d = a.d_model, hq = a.n_heads * a.head_dim, hkv = a.n_kv_heads * a.head_dim;
  b.add("embed.tokens", {"embed_tokens.weight"}, {a.vocab_size, d}, Init::Normal);
  for (int64_t l = 0; l < a.n_layers; ++l) {
    const std::string k = "blocks." + std::to_string(l) + ".", h = "layers." + std::to_string(l) + ".";
    b.norm(k + "ln1", h + "input_layernorm", d, false);
    b.linear(k + "attn.q", h + "self_attn.q_proj", hq, d, a.qkv_bias);
    b.linear(k + "attn.k", h + "self_attn.k_proj", hkv, d, a.qkv_bias);
    b.linear(k + "attn.v", h + "self_attn.v_proj", hkv, d, a.qkv_bias);
    b.linear(k + "attn.o", h + "self_attn.o_proj", d, hq, a.o_bias);
    b.norm(k + "ln2", h + "post_attention_layernorm", d, false);
    b.linear(k + "mlp.gate", h + "mlp.gate_proj", a.d_ff, d, a.mlp_bias);
    b.linear(k + "mlp.in", h + "mlp.up_proj", a.d_ff, d, a.mlp_bias);
    b.linear(k + "mlp.out", h + "mlp.down_proj", d, a.d_ff, a.mlp_bias);
  }
  b.norm("ln_final", "norm", d, false);
  auto& u = b.add("unembed.weight", {"lm_head.weight"}, {a.vocab_size, d}, Init::Normal);
  u.top_level = u.optional = true;
}

std::vector<std::string> candidate_prefixes(const ArchSpec& a) {
  switch (a.family) {
    case Family::GPT2: return {"transformer.", ""};
    case Family::BERT: return {"roberta.", "bert.", ""};
    case Family::LLaMA: return {"model.", ""};
  }
  return {""};
}

}  // namespace

std::vector<WeightSpec> expected_weights(const ArchSpec& arch) {
  Builder b;
  switch (arch.family) {
    case Family::GPT2: gpt2(arch, b); break;
    case Family::BERT: bert(arch, b); break;
    case Family::LLaMA: llama(arch, b); break;
  }
  return std::move(b.out);
}

std::string detect_prefix(const ArchSpec& arch, const std::vector<std::string>& names, const std::string& source) {
  const std::set<std::string> have(names.begin(), names.end());
  const std::string embed = expected_weights(arch).front().hf_names.front();
  std::string tried;
  for (const auto& p : candidate_prefixes(arch)) {
    if (have.count(p + embed)) return p;
    tried += (tried.empty() ? "" : ", ") + ("'" + p + embed + "'");
  }
  throw InputError(source + ": tensor '" + embed + "': missing (tried " + tried + ")");
}

std::vector<ResolvedWeight> resolve_weights(const ArchSpec& arch, const std::vector<std::string>& names,
                                            const std::string& source) {
  const std::set<std::string> have(names.begin(), names.end());
  const std::string prefix = detect_prefix(arch, names, source);
  std::vector<ResolvedWeight> out;
  for (auto& spec : expected_weights(arch)) {
    ResolvedWeight r{spec, ""};
    for (const auto& n : spec.hf_names) {
      const std::string full = (spec.top_level ? "" : prefix) + n;
      if (have.count(full)) {
        r.name = full;
        break;
      }
    }
    if (r.name.empty() && !spec.optional)
      throw InputError(source + ": tensor '" + (spec.top_level ? "" : prefix) + spec.hf_names.front() +
                       "': missing (needed for " + spec.key + ")");
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace ps::models
