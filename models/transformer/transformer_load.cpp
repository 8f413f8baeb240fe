// Building a Transformer: from a Hugging Face directory, from named tensors, or from random init.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <functional>

#include "models/config/weights_map.h"
#include "models/safetensors/safetensors.h"
#include "models/transformer/transformer.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::models {

namespace {

std::vector<int64_t> model_shape(const WeightSpec& s) {
  auto shape = s.hf_shape;
  if (s.transpose) std::swap(shape[0], shape[1]);
  return shape;
}

// A checkpoint's tensors: their names, a reader (stored dtype), and the file holding each (for errors).
struct TensorSource {
  std::vector<std::string> names;
  std::function<at::Tensor(const std::string&)> get;
  std::function<std::string(const std::string&)> file;
};

// Checks, transposes and converts every resolved tensor into the canonical map.
std::map<std::string, at::Tensor> collect(const ArchSpec& arch, const TensorSource& src, at::ScalarType dtype,
                                          at::Device device, const std::string& source) {
  std::map<std::string, at::Tensor> params;
  for (const auto& r : resolve_weights(arch, src.names, source)) {
    if (r.name.empty()) continue;
    // Tied heads reuse the embedding, as HF's tie_weights does, even if the file stores a copy.
    if (r.spec.key == "unembed.weight" && arch.tie_word_embeddings) continue;
    at::Tensor t = src.get(r.name);
    const std::string where = src.file(r.name) + ": tensor '" + r.name + "': ";
    if (!at::isFloatingType(t.scalar_type()))
      throw InputError(where + "dtype " + std::string(c10::toString(t.scalar_type())) + ", expected a float type");
    const std::vector<int64_t> got(t.sizes().begin(), t.sizes().end());
    if (got != r.spec.hf_shape)
      throw InputError(where + "shape " + shape_str(got) + ", expected " + shape_str(r.spec.hf_shape) +
                       " from config.json");
    if (r.spec.transpose) t = t.t();
    params[r.spec.key] = t.to(device, dtype).contiguous();
  }
  return params;
}

at::ScalarType aten_dtype(st::DType d, const std::string& where) {
  switch (d) {
    case st::DType::F32: return at::kFloat;
    case st::DType::F16: return at::kHalf;
    case st::DType::BF16: return at::kBFloat16;
    case st::DType::F64: return at::kDouble;
    default: throw InputError(where + "dtype " + st::dtype_name(d) + ", expected F32, F16, BF16 or F64");
  }
}

at::Tensor read_tensor(const st::TensorInfo& info, const std::string& file) {
  const auto dt = aten_dtype(info.dtype, file + ": tensor '" + info.name + "': ");
  auto t = at::empty(info.shape, at::TensorOptions().dtype(dt));
  // Copy rather than wrap: the mapped data need not be aligned and the map closes after loading.
  if (info.nbytes) std::memcpy(t.data_ptr(), info.data, info.nbytes);
  return t;
}

}  // namespace

Transformer::Transformer(ArchSpec arch, std::map<std::string, at::Tensor> params, std::string source)
    : arch_(std::move(arch)), params_(std::move(params)), source_(std::move(source)) {
  for (const auto& spec : expected_weights(arch_)) {
    auto it = params_.find(spec.key);
    if (it == params_.end()) {
      if (spec.optional) continue;
      throw InputError(source_ + ": parameter '" + spec.key + "' missing");
    }
    const auto want = model_shape(spec);
    const std::vector<int64_t> got(it->second.sizes().begin(), it->second.sizes().end());
    if (got != want)
      throw InputError(source_ + ": parameter '" + spec.key + "': shape " + shape_str(got) + ", expected " +
                       shape_str(want));
  }
  const auto& emb = params_.at("embed.tokens");
  dtype_ = emb.scalar_type();
  device_ = emb.device();
  for (int64_t l = 0; l < arch_.n_layers; ++l) {
    const std::string p = "blocks." + std::to_string(l) + ".";
    auto g = [&](const std::string& k) { return param(p + k); };
    Block b;
    b.ln1_w = g("ln1.weight"), b.ln1_b = g("ln1.bias"), b.ln2_w = g("ln2.weight"), b.ln2_b = g("ln2.bias");
    b.qkv_w = g("attn.qkv.weight"), b.qkv_b = g("attn.qkv.bias");
    b.q_w = g("attn.q.weight"), b.q_b = g("attn.q.bias"), b.k_w = g("attn.k.weight"), b.k_b = g("attn.k.bias");
    b.v_w = g("attn.v.weight"), b.v_b = g("attn.v.bias"), b.o_w = g("attn.o.weight"), b.o_b = g("attn.o.bias");
    b.in_w = g("mlp.in.weight"), b.in_b = g("mlp.in.bias"), b.gate_w = g("mlp.gate.weight");
    b.gate_b = g("mlp.gate.bias"), b.out_w = g("mlp.out.weight"), b.out_b = g("mlp.out.bias");
    blocks_.push_back(std::move(b));
  }
}

const at::Tensor& Transformer::param(const std::string& key) const {
  static const at::Tensor none;
  auto it = params_.find(key);
  return it == params_.end() ? none : it->second;
}

int64_t Transformer::num_parameters() const {
  int64_t n = 0;
  for (const auto& [k, t] : params_) n += t.numel();
  return n;
}

std::shared_ptr<Transformer> Transformer::load(const std::string& dir, at::ScalarType dtype, at::Device device) {
  const ArchSpec arch = load_arch(dir + "/config.json");
  const std::string single = dir + "/model.safetensors", index = dir + "/model.safetensors.index.json";
  std::vector<std::shared_ptr<st::File>> files;
  std::map<std::string, std::pair<const st::File*, std::string>> where;  // tensor → (file, path)
  auto add_file = [&](const std::string& path) {
    files.push_back(std::make_shared<st::File>(st::File::open(path)));
    for (const auto& n : files.back()->names()) where[n] = {files.back().get(), path};
  };
  if (file_exists(single)) {
    add_file(single);
  } else if (file_exists(index)) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_file(index));
    } catch (const nlohmann::json::parse_error&) {
      throw InputError(index + ": not valid JSON");
    }
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      throw InputError(index + ": field 'weight_map': missing or not an object");
    std::set<std::string> shards;
    for (const auto& [name, f] : j["weight_map"].items()) {
      if (!f.is_string()) throw InputError(index + ": field 'weight_map." + name + "': expected a file name");
      shards.insert(f.get<std::string>());
    }
    for (const auto& s : shards) add_file(dir + "/" + s);
  } else {
    throw InputError(dir + ": no model.safetensors or model.safetensors.index.json (only safetensors weights are read)");
  }
  TensorSource src;
  for (const auto& [n, fp] : where) src.names.push_back(n);
  src.get = [&](const std::string& n) { return read_tensor(where.at(n).first->at(n), where.at(n).second); };
  src.file = [&](const std::string& n) { return where.at(n).second; };
  const std::string source = file_exists(single) ? single : index;
  auto params = collect(arch, src, dtype, device, source);
  return std::shared_ptr<Transformer>(new Transformer(arch, std::move(params), dir));
}

std::shared_ptr<Transformer> Transformer::from_weights(const ArchSpec& arch, const std::map<std::string, at::Tensor>& tensors,
                                                       at::ScalarType dtype, at::Device device, const std::string& source) {
  TensorSource src;
  for (const auto& [n, t] : tensors) src.names.push_back(n);
  src.get = [&](const std::string& n) { return tensors.at(n); };
  src.file = [&](const std::string&) { return source; };
  return std::shared_ptr<Transformer>(new Transformer(arch, collect(arch, src, dtype, device, source), source));
}

std::shared_ptr<Transformer> Transformer::random_init(const ArchSpec& arch, uint64_t seed, at::ScalarType dtype,
                                                      at::Device device) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::map<std::string, at::Tensor> params;
  const double std0 = arch.initializer_range;
  for (const auto& spec : expected_weights(arch)) {
    // Heads are optional in checkpoints; only an untied causal-LM head is part of the base model here.
    if (spec.optional && !(spec.key == "unembed.weight" && !arch.tie_word_embeddings && arch.family != Family::BERT))
      continue;
    auto t = at::empty(model_shape(spec), at::kFloat);
    switch (spec.init) {
      case Init::Ones: t.fill_(1.0); break;
      case Init::Zeros: t.zero_(); break;
      case Init::Normal: t.normal_(0.0, std0, gen); break;
      case Init::NormalResidual: t.normal_(0.0, std0 / std::sqrt(2.0 * double(arch.n_layers)), gen); break;
    }
    params[spec.key] = t;
  }
  // BERT-family embeddings zero their padding_idx row (nn.Embedding padding_idx + _init_weights).
  if (arch.family == Family::BERT && arch.pad_token_id >= 0) {
    params["embed.tokens"][arch.pad_token_id].zero_();
    if (arch.position_offset > 0) params["embed.positions"][arch.pad_token_id].zero_();
  }
  for (auto& [k, t] : params) t = t.to(device, dtype);
  return std::shared_ptr<Transformer>(
      new Transformer(arch, std::move(params), "random_init(seed=" + std::to_string(seed) + ")"));
}

std::shared_ptr<Transformer> Transformer::with_changes(const ArchSpec& arch,
                                                       const std::map<std::string, at::Tensor>& replaced) const {
  auto params = params_;
  for (const auto& [k, t] : replaced) {
    if (!params.count(k)) throw InputError(source_ + ": parameter '" + k + "': not a parameter of this model");
    params[k] = t.to(device_, dtype_).contiguous();
  }
  return std::shared_ptr<Transformer>(new Transformer(arch, std::move(params), source_));
}

}  // namespace ps::models
