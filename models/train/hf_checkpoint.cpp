#include "models/train/hf_checkpoint.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>

#include "models/config/weights_map.h"
#include "models/safetensors/safetensors.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::train {

namespace fs = std::filesystem;

const char* hf_dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    default: throw InputError(std::string("dtype ") + c10::toString(t) + ": expected float32, float16 or bfloat16");
  }
}

namespace {

st::DType st_dtype(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return st::DType::F32;
    case at::kHalf: return st::DType::F16;
    case at::kBFloat16: return st::DType::BF16;
    case at::kDouble: return st::DType::F64;
    default: throw InputError(std::string("safetensors: dtype ") + c10::toString(t) + " is not written");
  }
}

st::TensorData to_data(const std::string& name, const at::Tensor& t, at::ScalarType dtype) {
  const at::Tensor c = t.detach().to(at::kCPU, dtype == at::ScalarType::Undefined ? t.scalar_type() : dtype).contiguous();
  st::TensorData d{name, st_dtype(c.scalar_type()), std::vector<int64_t>(c.sizes().begin(), c.sizes().end()), {}};
  d.bytes.assign(static_cast<const char*>(c.data_ptr()), c.nbytes());
  return d;
}

}  // namespace

std::string lm_config_json(const LmShape& s) {
  nlohmann::ordered_json j;
  const int64_t d = s.d_model;
  if (s.arch == "gpt2") {
    j = {{"architectures", {"GPT2LMHeadModel"}},
         {"model_type", "gpt2"},
         {"vocab_size", s.vocab_size},
         {"n_positions", s.ctx},
         {"n_ctx", s.ctx},
         {"n_embd", d},
         {"n_layer", s.layers},
         {"n_head", s.heads},
         {"n_inner", s.d_ff > 0 ? nlohmann::ordered_json(s.d_ff) : nlohmann::ordered_json(nullptr)},
         {"activation_function", "gelu_new"},
         {"resid_pdrop", 0.0},
         {"embd_pdrop", 0.0},
         {"attn_pdrop", 0.0},
         {"layer_norm_epsilon", 1e-5},
         {"initializer_range", 0.02},
         {"scale_attn_weights", true},
         {"bos_token_id", s.eos_id},
         {"eos_token_id", s.eos_id},
         {"tie_word_embeddings", true},
         {"use_cache", true},
         {"torch_dtype", "float32"}};
  } else if (s.arch == "llama") {
    const int64_t ff = s.d_ff > 0 ? s.d_ff : (8 * d / 3 + 63) / 64 * 64;
    j = {{"architectures", {"LlamaForCausalLM"}},
         {"model_type", "llama"},
         {"vocab_size", s.vocab_size},
         {"hidden_size", d},
         {"intermediate_size", ff},
         {"num_hidden_layers", s.layers},
         {"num_attention_heads", s.heads},
         {"num_key_value_heads", s.kv_heads > 0 ? s.kv_heads : s.heads},
         {"max_position_embeddings", s.ctx},
         {"rms_norm_eps", 1e-5},
         {"rope_theta", 10000.0},
         {"hidden_act", "silu"},
         {"attention_bias", false},
         {"mlp_bias", false},
         {"attention_dropout", 0.0},
         {"initializer_range", 0.02},
         {"bos_token_id", s.eos_id},
         {"eos_token_id", s.eos_id},
         {"tie_word_embeddings", true},
         {"use_cache", true},
         {"torch_dtype", "float32"}};
  } else if (s.arch == "roberta") {
    if (s.pad_id < 0) throw InputError("--arch roberta: the tokenizer needs a padding token (RoBERTa offsets positions by it)");
    j = {{"architectures", {"RobertaForMaskedLM"}},
         {"model_type", "roberta"},
         {"vocab_size", s.vocab_size},
         {"hidden_size", d},
         {"num_hidden_layers", s.layers},
         {"num_attention_heads", s.heads},
         {"intermediate_size", s.d_ff > 0 ? s.d_ff : 4 * d},
         {"hidden_act", "gelu"},
         {"hidden_dropout_prob", 0.0},
         {"attention_probs_dropout_prob", 0.0},
         {"max_position_embeddings", s.ctx + s.pad_id + 1},
         {"type_vocab_size", 1},
         {"initializer_range", 0.02},
         {"layer_norm_eps", 1e-5},
         {"position_embedding_type", "absolute"},
         {"pad_token_id", s.pad_id},
         {"bos_token_id", s.bos_id >= 0 ? s.bos_id : s.eos_id},
         {"eos_token_id", s.eos_id},
         {"tie_word_embeddings", s.tie_embeddings},
         {"use_cache", true},
         {"torch_dtype", "float32"}};
  } else {
    throw InputError("--arch: unsupported '" + s.arch + "' (supported: gpt2, llama, roberta)");
  }
  if (s.arch != "roberta") {
    if (s.bos_id >= 0) j["bos_token_id"] = s.bos_id;
    j["tie_word_embeddings"] = s.tie_embeddings;
  }
  if (s.parametrization != "sp") {
    j["probescope_parametrization"] = {
        {"parametrization", s.parametrization},
        {"base_width", s.base_width},
        {"note", "muP multipliers are folded into the stored weights (init and learning rates, abc-symmetry), "
                 "so the standard forward of this model_type reproduces training"}};
  }
  const std::string text = j.dump(2) + "\n";
  models::parse_arch(text, "config.json for --arch " + s.arch);  // validates divisibility, sizes
  return text;
}

namespace {
// (HF name, tensor in the checkpoint's layout) for every parameter the checkpoint stores, in spec order.
std::vector<std::pair<std::string, at::Tensor>> hf_list(const models::ArchSpec& arch,
                                                        const std::map<std::string, at::Tensor>& canonical,
                                                        const std::string& where) {
  using models::Family;
  const std::string prefix = arch.family == Family::GPT2    ? "transformer."
                             : arch.family == Family::LLaMA ? "model."
                             : arch.model_type == "bert"    ? "bert."
                                                            : "roberta.";  // RobertaForMaskedLM's names
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& spec : models::expected_weights(arch)) {
    auto it = canonical.find(spec.key);
    if (it == canonical.end()) {
      if (spec.optional) continue;  // tied head: stored once, as the embedding
      throw RuntimeError(where + ": parameter '" + spec.key + "' missing from the model");
    }
    at::Tensor t = it->second;
    if (spec.transpose) t = t.t();
    out.emplace_back((spec.top_level ? "" : prefix) + spec.hf_names.front(), t);
  }
  return out;
}
}  // namespace

std::map<std::string, at::Tensor> hf_named(const models::ArchSpec& arch, const std::map<std::string, at::Tensor>& canonical) {
  std::map<std::string, at::Tensor> out;
  for (auto& [n, t] : hf_list(arch, canonical, "hf_named")) out[n] = t;
  return out;
}

void write_hf_weights(const std::string& path, const models::ArchSpec& arch,
                      const std::map<std::string, at::Tensor>& canonical, at::ScalarType dtype) {
  std::vector<st::TensorData> out;
  for (const auto& [name, t] : hf_list(arch, canonical, path)) out.push_back(to_data(name, t, dtype));
  st::write(path, out, {{"format", "pt"}});
}

std::map<std::string, at::Tensor> read_safetensors(const std::string& path) {
  const st::File f = st::File::open(path);
  std::map<std::string, at::Tensor> out;
  for (const auto& name : f.names()) {
    const auto& info = f.at(name);
    at::ScalarType t;
    switch (info.dtype) {
      case st::DType::F32: t = at::kFloat; break;
      case st::DType::F16: t = at::kHalf; break;
      case st::DType::BF16: t = at::kBFloat16; break;
      case st::DType::F64: t = at::kDouble; break;
      case st::DType::I64: t = at::kLong; break;
      default: throw InputError(path + ": tensor '" + name + "': dtype " + st::dtype_name(info.dtype) + " not expected");
    }
    auto x = at::empty(info.shape, at::TensorOptions().dtype(t));
    if (info.nbytes) std::memcpy(x.data_ptr(), info.data, info.nbytes);  // mapped data may be unaligned
    out[name] = x;
  }
  return out;
}

void write_safetensors(const std::string& path, const std::map<std::string, at::Tensor>& tensors, at::ScalarType dtype) {
  std::vector<st::TensorData> out;
  for (const auto& [name, t] : tensors) out.push_back(to_data(name, t, dtype));
  st::write(path, out, {{"format", "pt"}});
}

void export_model(const std::string& src, const std::string& out_dir, at::ScalarType dtype) {
  const std::string name = hf_dtype_name(dtype);
  auto config = nlohmann::ordered_json::parse(read_file(src + "/config.json"));
  models::parse_arch(config.dump(), src + "/config.json");
  auto tensors = read_safetensors(src + "/model.safetensors");
  fs::create_directories(out_dir);
  write_safetensors(out_dir + "/model.safetensors", tensors, dtype);
  config["torch_dtype"] = name;
  write_file_atomic(out_dir + "/config.json", config.dump(2) + "\n");
  write_file_atomic(out_dir + "/tokenizer.json", read_file(src + "/tokenizer.json"));
}

}  // namespace ps::train
