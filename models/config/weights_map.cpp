#include "models/config/weights_map.h"

#include <algorithm>
#include <iterator>
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

// Each family's specs in three parts, so one layer's specs can be built without all the others: a
// config.json claiming a billion layers must not cost memory before the checkpoint is consulted.
enum class Part { Embeddings, Layer, Final };

void gpt2(const ArchSpec& a, Part part, int64_t l, Builder& b) {
  const int64_t d = a.d_model;
  if (part == Part::Embeddings) {
    b.add("embed.tokens", {"wte.weight"}, {a.vocab_size, d}, Init::Normal);
    b.add("embed.positions", {"wpe.weight"}, {a.max_position_embeddings, d}, Init::Normal);
  } else if (part == Part::Layer) {
    const std::string k = "blocks." + std::to_string(l) + ".", h = "h." + std::to_string(l) + ".";
    b.norm(k + "ln1", h + "ln_1", d, true);
    b.conv1d(k + "attn.qkv", h + "attn.c_attn", 3 * d, d);
    b.conv1d(k + "attn.o", h + "attn.c_proj", d, d, Init::NormalResidual);
    b.norm(k + "ln2", h + "ln_2", d, true);
    b.conv1d(k + "mlp.in", h + "mlp.c_fc", a.d_ff, d);
    b.conv1d(k + "mlp.out", h + "mlp.c_proj", d, a.d_ff, Init::NormalResidual);
  } else {
    b.norm("ln_final", "ln_f", d, true);
    auto& u = b.add("unembed.weight", {"lm_head.weight"}, {a.vocab_size, d}, Init::Normal);
    u.top_level = u.optional = true;
  }
}

void bert(const ArchSpec& a, Part part, int64_t l, Builder& b) {
  const int64_t d = a.d_model;
  if (part == Part::Embeddings) {
    b.add("embed.tokens", {"embeddings.word_embeddings.weight"}, {a.vocab_size, d}, Init::Normal);
    b.add("embed.positions", {"embeddings.position_embeddings.weight"}, {a.max_position_embeddings, d}, Init::Normal);
    if (a.type_vocab_size > 0)
      b.add("embed.token_types", {"embeddings.token_type_embeddings.weight"}, {a.type_vocab_size, d}, Init::Normal);
    b.norm("embed.ln", "embeddings.LayerNorm", d, true);
  } else if (part == Part::Layer) {
    const std::string k = "blocks." + std::to_string(l) + ".", h = "encoder.layer." + std::to_string(l) + ".";
    b.linear(k + "attn.q", h + "attention.self.query", d, d, true);
    b.linear(k + "attn.k", h + "attention.self.key", d, d, true);
    b.linear(k + "attn.v", h + "attention.self.value", d, d, true);
    b.linear(k + "attn.o", h + "attention.output.dense", d, d, true);
    b.norm(k + "ln1", h + "attention.output.LayerNorm", d, true);
    b.linear(k + "mlp.in", h + "intermediate.dense", a.d_ff, d, true);
    b.linear(k + "mlp.out", h + "output.dense", d, a.d_ff, true);
    b.norm(k + "ln2", h + "output.LayerNorm", d, true);
  } else {
    // Masked-LM head (RobertaForMaskedLM: lm_head.*, BertForMaskedLM: cls.predictions.*); optional.
    const bool roberta = a.model_type != "bert";
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
}

void llama(const ArchSpec& a, Part part, int64_t l, Builder& b) {
  const int64_t d = a.d_model, hq = a.n_heads * a.head_dim, hkv = a.n_kv_heads * a.head_dim;
  if (part == Part::Embeddings) {
    b.add("embed.tokens", {"embed_tokens.weight"}, {a.vocab_size, d}, Init::Normal);
  } else if (part == Part::Layer) {
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
  } else {
    b.norm("ln_final", "norm", d, false);
    auto& u = b.add("unembed.weight", {"lm_head.weight"}, {a.vocab_size, d}, Init::Normal);
    u.top_level = u.optional = true;
  }
}

std::vector<WeightSpec> part_weights(const ArchSpec& arch, Part part, int64_t layer) {
  Builder b;
  switch (arch.family) {
    case Family::GPT2: gpt2(arch, part, layer, b); break;
    case Family::BERT: bert(arch, part, layer, b); break;
    case Family::LLaMA: llama(arch, part, layer, b); break;
  }
  return std::move(b.out);
}

// The per-layer name stem ("h.", "encoder.layer.", "layers.") and how many consecutive layers from 0 the
// checkpoint holds, for the message when config.json claims more.
std::string layer_stem(const ArchSpec& a) {
  switch (a.family) {
    case Family::GPT2: return "h.";
    case Family::BERT: return "encoder.layer.";
    case Family::LLaMA: return "layers.";
  }
  return "";
}

int64_t layers_present(const ArchSpec& a, const std::set<std::string>& have, const std::string& prefix) {
  std::set<int64_t> seen;
  const std::string stem = prefix + layer_stem(a);
  for (const auto& n : have) {
    if (n.compare(0, stem.size(), stem) != 0) continue;
    int64_t l = 0;
    size_t i = stem.size(), digits = 0;
    for (; i < n.size() && n[i] >= '0' && n[i] <= '9' && digits < 12; ++i, ++digits) l = l * 10 + (n[i] - '0');
    if (digits > 0 && i < n.size() && n[i] == '.') seen.insert(l);
  }
  int64_t count = 0;
  while (seen.count(count)) ++count;
  return count;
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
  std::vector<WeightSpec> out = part_weights(arch, Part::Embeddings, 0);
  for (int64_t l = 0; l < arch.n_layers; ++l) {
    auto layer = part_weights(arch, Part::Layer, l);
    out.insert(out.end(), std::make_move_iterator(layer.begin()), std::make_move_iterator(layer.end()));
  }
  auto final_part = part_weights(arch, Part::Final, 0);
  out.insert(out.end(), std::make_move_iterator(final_part.begin()), std::make_move_iterator(final_part.end()));
  return out;
}

std::vector<WeightSpec> layer_weights(const ArchSpec& arch, int64_t layer) { return part_weights(arch, Part::Layer, layer); }

namespace {
// Adds each spec's numel and count to totals with overflow checks; false on overflow.
bool add_specs(const std::vector<WeightSpec>& specs, bool with_optional, WeightTotals& totals) {
  for (const auto& s : specs) {
    if (s.optional && !with_optional) continue;
    int64_t n = 1;
    for (int64_t d : s.hf_shape)
      if (d < 0 || __builtin_mul_overflow(n, d, &n)) return false;
    if (__builtin_add_overflow(totals.parameters, n, &totals.parameters)) return false;
    ++totals.tensors;
  }
  return true;
}
}  // namespace

std::optional<WeightTotals> weight_totals(const ArchSpec& arch, bool with_optional) {
  WeightTotals outside, layer, all;
  if (!add_specs(part_weights(arch, Part::Embeddings, 0), with_optional, outside) ||
      !add_specs(part_weights(arch, Part::Final, 0), with_optional, outside) ||
      !add_specs(part_weights(arch, Part::Layer, 0), with_optional, layer) ||
      __builtin_mul_overflow(layer.parameters, arch.n_layers, &all.parameters) ||
      __builtin_add_overflow(all.parameters, outside.parameters, &all.parameters) ||
      __builtin_mul_overflow(layer.tensors, arch.n_layers, &all.tensors) ||
      __builtin_add_overflow(all.tensors, outside.tensors, &all.tensors))
    return std::nullopt;
  return all;
}

std::string detect_prefix(const ArchSpec& arch, const std::vector<std::string>& names, const std::string& source) {
  const std::set<std::string> have(names.begin(), names.end());
  const std::string embed = part_weights(arch, Part::Embeddings, 0).front().hf_names.front();
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
  // Layer by layer, stopping at the first missing tensor: memory stays bounded by what the file holds.
  auto resolve = [&](std::vector<WeightSpec> specs, bool in_layer) {
    for (auto& spec : specs) {
      ResolvedWeight r{std::move(spec), ""};
      for (const auto& n : r.spec.hf_names) {
        const std::string full = (r.spec.top_level ? "" : prefix) + n;
        if (have.count(full)) {
          r.name = full;
          break;
        }
      }
      if (r.name.empty() && !r.spec.optional) {
        std::string why = "needed for " + r.spec.key;
        const int64_t present = in_layer ? layers_present(arch, have, prefix) : arch.n_layers;
        if (present < arch.n_layers)
          why += "; config.json claims " + std::to_string(arch.n_layers) + " layers, the checkpoint holds " +
                 std::to_string(present);
        throw InputError(source + ": tensor '" + (r.spec.top_level ? "" : prefix) + r.spec.hf_names.front() +
                         "': missing (" + why + ")");
      }
      out.push_back(std::move(r));
    }
  };
  resolve(part_weights(arch, Part::Embeddings, 0), false);
  for (int64_t l = 0; l < arch.n_layers; ++l) resolve(part_weights(arch, Part::Layer, l), true);
  resolve(part_weights(arch, Part::Final, 0), false);
  return out;
}

}  // namespace ps::models
