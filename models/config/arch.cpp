#include "models/config/arch.h"

#include <filesystem>
#include <limits>

#include <nlohmann/json.hpp>

#include "models/config/rope_scaling.h"
#include "models/config/weights_map.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::models {

const char* family_name(Family f) {
  switch (f) {
    case Family::GPT2: return "gpt2";
    case Family::BERT: return "bert";
    case Family::LLaMA: return "llama";
  }
  return "?";
}

namespace {

using nlohmann::json;

// Every size and token id fits int32: token ids and shapes are int32 downstream, and products of a few
// such sizes cannot overflow int64 before they are checked.
constexpr int64_t kMaxSize = std::numeric_limits<int32_t>::max();

// Typed field access with "<file>: field 'x': problem" errors.
struct Fields {
  const json& j;
  const std::string& src;

  [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
    throw InputError(src + ": field '" + field + "': " + problem);
  }
  bool has(const std::string& k) const { return j.contains(k) && !j.at(k).is_null(); }
  int64_t integer(const std::string& k) const {
    if (!has(k)) fail(k, "missing");
    const json& v = j.at(k);
    if (!v.is_number_integer()) fail(k, std::string("expected an integer, got ") + v.type_name());
    return v.get<int64_t>();
  }
  int64_t integer(const std::string& k, int64_t dflt) const { return has(k) ? integer(k) : dflt; }
  int64_t positive(const std::string& k) const {
    const int64_t v = integer(k);
    if (v <= 0) fail(k, "must be positive, got " + std::to_string(v));
    if (v > kMaxSize) fail(k, std::to_string(v) + " exceeds " + std::to_string(kMaxSize));
    return v;
  }
  double number(const std::string& k) const {
    if (!has(k)) fail(k, "missing");
    const json& v = j.at(k);
    if (!v.is_number()) fail(k, std::string("expected a number, got ") + v.type_name());
    return v.get<double>();
  }
  double number(const std::string& k, double dflt) const { return has(k) ? number(k) : dflt; }
  std::string string(const std::string& k) const {
    if (!has(k)) fail(k, "missing");
    const json& v = j.at(k);
    if (!v.is_string()) fail(k, std::string("expected a string, got ") + v.type_name());
    return v.get<std::string>();
  }
  std::string string(const std::string& k, const std::string& dflt) const { return has(k) ? string(k) : dflt; }
  bool boolean(const std::string& k, bool dflt) const {
    if (!has(k)) return dflt;
    const json& v = j.at(k);
    if (!v.is_boolean()) fail(k, std::string("expected true/false, got ") + v.type_name());
    return v.get<bool>();
  }
  // Token ids may be null, an integer, or (Llama 3 eos) a list of integers: the first one is kept.
  int64_t token_id(const std::string& k) const {
    if (!has(k)) return -1;
    const json& v = j.at(k);
    const json& id = v.is_array() && !v.empty() ? v.at(0) : v;
    if (!id.is_number_integer()) fail(k, std::string("expected an integer token id, got ") + v.type_name());
    const int64_t t = id.get<int64_t>();
    if (t > kMaxSize) fail(k, std::to_string(t) + " exceeds " + std::to_string(kMaxSize));
    return t;
  }
};

Activation parse_activation(const Fields& f, const std::string& key, const std::string& dflt) {
  const std::string a = f.string(key, dflt);
  if (a == "gelu_new" || a == "gelu_pytorch_tanh") return Activation::GeluNew;
  if (a == "gelu") return Activation::Gelu;
  if (a == "relu") return Activation::Relu;
  if (a == "silu" || a == "swish") return Activation::Silu;
  f.fail(key, "unsupported activation '" + a + "' (supported: gelu_new, gelu_pytorch_tanh, gelu, relu, silu)");
}

void parse_gpt2(const Fields& f, ArchSpec& a) {
  a.family = Family::GPT2;
  a.vocab_size = f.positive("vocab_size");
  a.d_model = f.positive("n_embd");
  a.n_layers = f.positive("n_layer");
  a.n_heads = f.positive("n_head");
  a.n_kv_heads = a.n_heads;
  a.d_ff = f.has("n_inner") ? f.positive("n_inner") : 4 * a.d_model;
  a.max_position_embeddings = f.positive("n_positions");
  a.max_positions = a.max_position_embeddings;
  a.norm = NormKind::LayerNorm;
  a.norm_eps = f.number("layer_norm_epsilon", 1e-5);
  a.activation = parse_activation(f, "activation_function", "gelu_new");
  a.positional = PositionalKind::Learned;
  a.causal = true;
  if (f.boolean("scale_attn_by_inverse_layer_idx", false)) f.fail("scale_attn_by_inverse_layer_idx", "true is not supported");
  if (f.boolean("reorder_and_upcast_attn", false)) f.fail("reorder_and_upcast_attn", "true is not supported");
}

void parse_bert(const Fields& f, ArchSpec& a, bool roberta) {
  a.family = Family::BERT;
  a.vocab_size = f.positive("vocab_size");
  a.d_model = f.positive("hidden_size");
  a.n_layers = f.positive("num_hidden_layers");
  a.n_heads = f.positive("num_attention_heads");
  a.n_kv_heads = a.n_heads;
  a.d_ff = f.positive("intermediate_size");
  a.max_position_embeddings = f.positive("max_position_embeddings");
  a.type_vocab_size = f.integer("type_vocab_size", 2);
  if (a.type_vocab_size < 0 || a.type_vocab_size > kMaxSize)
    f.fail("type_vocab_size", "must be in [0, " + std::to_string(kMaxSize) + "]");
  a.norm = NormKind::LayerNorm;
  a.norm_eps = f.number("layer_norm_eps", 1e-12);
  a.activation = parse_activation(f, "hidden_act", "gelu");
  a.positional = PositionalKind::Learned;
  const std::string pe = f.string("position_embedding_type", "absolute");
  if (pe != "absolute") f.fail("position_embedding_type", "only 'absolute' is supported, got '" + pe + "'");
  a.causal = false;
  a.pad_token_id = f.token_id("pad_token_id");
  if (roberta) {
    // RoBERTa numbers positions from padding_idx + 1 (create_position_ids_from_input_ids).
    if (a.pad_token_id < 0) f.fail("pad_token_id", "missing (RoBERTa positions are offset by it)");
    a.position_offset = a.pad_token_id + 1;
  }
  a.max_positions = a.max_position_embeddings - a.position_offset;
  if (a.max_positions <= 0) f.fail("max_position_embeddings", "too small for the position offset");
}

void parse_llama(const Fields& f, ArchSpec& a, bool qwen2) {
  a.family = Family::LLaMA;
  a.vocab_size = f.positive("vocab_size");
  a.d_model = f.positive("hidden_size");
  a.n_layers = f.positive("num_hidden_layers");
  a.n_heads = f.positive("num_attention_heads");
  a.n_kv_heads = f.has("num_key_value_heads") ? f.positive("num_key_value_heads") : a.n_heads;
  if (a.n_heads % a.n_kv_heads != 0)
    f.fail("num_key_value_heads", "must divide num_attention_heads (" + std::to_string(a.n_heads) + ")");
  if (f.has("head_dim")) a.head_dim = f.positive("head_dim");
  a.d_ff = f.positive("intermediate_size");
  a.max_position_embeddings = f.positive("max_position_embeddings");
  a.max_positions = a.max_position_embeddings;
  a.norm = NormKind::RMSNorm;
  a.norm_eps = f.number("rms_norm_eps", 1e-6);
  a.activation = parse_activation(f, "hidden_act", "silu");
  a.positional = PositionalKind::Rotary;
  a.rope_theta = f.number("rope_theta", 10000.0);
  if (a.rope_theta <= 0) f.fail("rope_theta", "must be positive");
  a.causal = true;
  if (qwen2) {  // Qwen2 always has q/k/v biases and none on o_proj or the MLP.
    a.qkv_bias = true;
    a.o_bias = false;
    a.mlp_bias = false;
  } else {
    a.qkv_bias = a.o_bias = f.boolean("attention_bias", false);
    a.mlp_bias = f.boolean("mlp_bias", false);
  }
  if (f.boolean("use_sliding_window", a.model_type == "mistral") && f.has("sliding_window"))
    a.sliding_window = f.positive("sliding_window");
  // Phi-3 style: the trained length at the top level (longrope reads it; see apply_rope_scaling).
  if (f.has("original_max_position_embeddings"))
    a.config_original_max_position_embeddings = f.positive("original_max_position_embeddings");
}

// The parameter count must fit int64 even at 8 bytes each; whether the checkpoint agrees with the
// sizes is checked when it loads (resolve_weights and the shape checks).
void check_sizes(const Fields& f, const ArchSpec& a) {
  const auto n = weight_totals(a, true);
  if (!n || n->parameters > std::numeric_limits<int64_t>::max() / 8)
    f.fail(a.family == Family::GPT2 ? "n_layer" : "num_hidden_layers",
           "the sizes claim more than 2^60 parameters (overflow)");
}

}  // namespace

ArchSpec parse_arch(const std::string& text, const std::string& src) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number like 1e999
    std::string msg = e.what();
    for (char& c : msg)
      if (c == '\n') c = ' ';
    throw InputError(src + ": not valid JSON: " + msg);
  }
  if (!j.is_object()) throw InputError(src + ": expected a JSON object at the top level");
  const Fields f{j, src};
  ArchSpec a;
  a.model_type = f.string("model_type");
  const std::string& mt = a.model_type;
  if (mt == "gpt2") parse_gpt2(f, a);
  else if (mt == "bert") parse_bert(f, a, false);
  else if (mt == "roberta" || mt == "xlm-roberta") parse_bert(f, a, true);
  else if (mt == "llama" || mt == "mistral") parse_llama(f, a, false);
  else if (mt == "qwen2") parse_llama(f, a, true);
  else
    f.fail("model_type", "unsupported '" + mt + "' (supported: gpt2, bert, roberta, xlm-roberta, llama, mistral, qwen2)");

  if (a.head_dim == 0) {
    if (a.d_model % a.n_heads != 0)
      f.fail(a.family == Family::GPT2 ? "n_head" : "num_attention_heads", "must divide the hidden size");
    a.head_dim = a.d_model / a.n_heads;
  }
  if (a.positional == PositionalKind::Rotary && a.head_dim % 2 != 0) f.fail("head_dim", "rotary needs an even head_dim");
  // After head_dim is known (longrope's factor lists have head_dim/2 entries). HF ignores rope_scaling
  // on learned-position families, and so do we.
  if (a.positional == PositionalKind::Rotary) apply_rope_scaling(a, f.has("rope_scaling") ? j.at("rope_scaling") : json(), src);
  if (a.family != Family::BERT) a.pad_token_id = f.token_id("pad_token_id");
  a.bos_token_id = f.token_id("bos_token_id");
  a.eos_token_id = f.token_id("eos_token_id");
  // PretrainedConfig defaults tie_word_embeddings to true; LlamaConfig and Qwen2Config default it to false.
  a.tie_word_embeddings = f.boolean("tie_word_embeddings", a.family != Family::LLaMA);
  a.initializer_range = f.number("initializer_range", 0.02);
  if (a.pad_token_id >= a.vocab_size) f.fail("pad_token_id", "outside the vocabulary");
  check_sizes(f, a);
  return a;
}

ArchSpec load_arch(const std::string& path) {
  // Real config.json files are kilobytes; refuse a huge one before reading it into memory.
  constexpr uintmax_t kMaxBytes = uintmax_t(16) << 20;
  std::error_code ec;
  const uintmax_t bytes = std::filesystem::file_size(path, ec);
  if (!ec && bytes > kMaxBytes)
    throw InputError(path + ": " + std::to_string(bytes) + " bytes, more than the 16 MiB a config.json may have");
  return parse_arch(read_file(path), path);
}

}  // namespace ps::models
