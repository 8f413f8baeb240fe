// Building a Transformer: from a Hugging Face directory, from named tensors, or from random init.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>

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

// A checkpoint's tensors: their names, shape and dtype as the header states them (checked before anything
// is read), a reader (stored dtype), and the file holding each (for errors).
struct TensorSource {
  std::vector<std::string> names;
  std::function<std::vector<int64_t>(const std::string&)> shape;
  std::function<bool(const std::string&)> is_float;
  std::function<std::string(const std::string&)> dtype_name;
  std::function<at::Tensor(const std::string&)> get;
  std::function<std::string(const std::string&)> file;
};

// Bytes this process may still allocate: physical memory, or less under an address-space limit
// (RLIMIT_AS, counted against the virtual size already mapped).
int64_t memory_available() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  int64_t avail = pages > 0 && page > 0 ? int64_t(pages) * page : std::numeric_limits<int64_t>::max();
  rlimit rl{};
  if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    int64_t mapped = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
      long vm_pages = 0;
      if (std::fscanf(f, "%ld", &vm_pages) == 1 && page > 0) mapped = int64_t(vm_pages) * page;
      std::fclose(f);
    }
    const int64_t room = rl.rlim_cur > uint64_t(std::numeric_limits<int64_t>::max())
                             ? std::numeric_limits<int64_t>::max()
                             : int64_t(rl.rlim_cur) - mapped;
    avail = std::min(avail, std::max<int64_t>(room, 0));
  }
  return avail;
}

std::string gib(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", double(bytes) / double(1ll << 30));
  return buf;
}

// Host memory a model of `parameters` elements in dtype needs, plus a generous allowance per tensor for
// its spec, names and tensor objects (a billion tiny layers is as fatal as one huge one).
void check_fits(int64_t parameters, int64_t tensors, at::ScalarType dtype, const std::string& source,
                const std::string& what) {
  constexpr int64_t kPerTensor = 4096;
  const int64_t item = int64_t(c10::elementSize(dtype)), avail = memory_available();
  int64_t need = 0;
  const bool overflow = __builtin_mul_overflow(parameters, item, &need) ||
                        __builtin_mul_overflow(tensors, kPerTensor, &tensors) ||
                        __builtin_add_overflow(need, tensors, &need);
  if (overflow || need > avail)
    throw InputError(source + ": " + what + " " + std::to_string(parameters) + " parameters (" +
                     (overflow ? std::string("more bytes than int64 holds") : gib(need)) + " as " +
                     c10::toString(dtype) + "), more than the " + gib(avail) + " of memory available");
}

// Checks every resolved tensor's header entry against config.json before reading any of them, then
// transposes and converts each into the canonical map.
std::map<std::string, at::Tensor> collect(const ArchSpec& arch, const TensorSource& src, at::ScalarType dtype,
                                          at::Device device, const std::string& source) {
  std::vector<ResolvedWeight> wanted;
  int64_t numel = 0;
  for (auto& r : resolve_weights(arch, src.names, source)) {
    if (r.name.empty()) continue;
    // Tied heads reuse the embedding, as HF's tie_weights does, even if the file stores a copy.
    if (r.spec.key == "unembed.weight" && arch.tie_word_embeddings) continue;
    const std::string where = src.file(r.name) + ": tensor '" + r.name + "': ";
    if (!src.is_float(r.name)) throw InputError(where + "dtype " + src.dtype_name(r.name) + ", expected a float type");
    const std::vector<int64_t> got = src.shape(r.name);
    if (got != r.spec.hf_shape)
      throw InputError(where + "shape " + shape_str(got) + ", expected " + shape_str(r.spec.hf_shape) +
                       " from config.json");
    int64_t n = 1;
    for (int64_t d : got) n *= d;  // the header's shapes: their products fit int64 (st::File checks)
    numel += n;
    wanted.push_back(std::move(r));
  }
  // Shapes now match real tensors; the file is mapped, not read, so converting may still not fit.
  if (device.is_cpu()) check_fits(numel, int64_t(wanted.size()), dtype, source, "the checkpoint holds");
  std::map<std::string, at::Tensor> params;
  for (const auto& r : wanted) {
    at::Tensor t = src.get(r.name);
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
    blocks_.push_back(assemble_block([&](const std::string& k) { return param(p + k); }));
  }
}

Transformer::Block Transformer::assemble_block(const std::function<at::Tensor(const std::string&)>& g) {
  Block b;
  b.ln1_w = g("ln1.weight"), b.ln1_b = g("ln1.bias"), b.ln2_w = g("ln2.weight"), b.ln2_b = g("ln2.bias");
  b.qkv_w = g("attn.qkv.weight"), b.qkv_b = g("attn.qkv.bias");
  b.q_w = g("attn.q.weight"), b.q_b = g("attn.q.bias"), b.k_w = g("attn.k.weight"), b.k_b = g("attn.k.bias");
  b.v_w = g("attn.v.weight"), b.v_b = g("attn.v.bias"), b.o_w = g("attn.o.weight"), b.o_b = g("attn.o.bias");
  b.in_w = g("mlp.in.weight"), b.in_b = g("mlp.in.bias"), b.gate_w = g("mlp.gate.weight");
  b.gate_b = g("mlp.gate.bias"), b.out_w = g("mlp.out.weight"), b.out_b = g("mlp.out.bias");
  return b;
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
  // st::Checkpoint validates every shard's header and the index (shard names stay inside dir).
  const st::Checkpoint ckpt(dir);
  auto info = [&](const std::string& n) -> const st::TensorInfo& { return ckpt.at(n); };
  auto file = [&](const std::string& n) {
    for (const auto& shard : ckpt.shards())
      if (shard.find(n)) return shard.source();
    return ckpt.dir();
  };
  TensorSource src;
  src.names = ckpt.names();
  src.shape = [&](const std::string& n) { return info(n).shape; };
  src.is_float = [&](const std::string& n) {
    const st::DType d = info(n).dtype;
    return d == st::DType::F32 || d == st::DType::F16 || d == st::DType::BF16 || d == st::DType::F64;
  };
  src.dtype_name = [&](const std::string& n) { return std::string(st::dtype_name(info(n).dtype)); };
  src.get = [&](const std::string& n) { return read_tensor(info(n), file(n)); };
  src.file = file;
  const std::string single = dir + "/model.safetensors";
  const std::string source = file_exists(single) ? single : dir + "/model.safetensors.index.json";
  auto params = collect(arch, src, dtype, device, source);
  return std::shared_ptr<Transformer>(new Transformer(arch, std::move(params), dir));
}

std::shared_ptr<Transformer> Transformer::from_weights(const ArchSpec& arch, const std::map<std::string, at::Tensor>& tensors,
                                                       at::ScalarType dtype, at::Device device, const std::string& source) {
  TensorSource src;
  for (const auto& [n, t] : tensors) src.names.push_back(n);
  src.shape = [&](const std::string& n) {
    const auto& t = tensors.at(n);
    return std::vector<int64_t>(t.sizes().begin(), t.sizes().end());
  };
  src.is_float = [&](const std::string& n) { return at::isFloatingType(tensors.at(n).scalar_type()); };
  src.dtype_name = [&](const std::string& n) { return std::string(c10::toString(tensors.at(n).scalar_type())); };
  src.get = [&](const std::string& n) { return tensors.at(n); };
  src.file = [&](const std::string&) { return source; };
  return std::shared_ptr<Transformer>(new Transformer(arch, collect(arch, src, dtype, device, source), source));
}

std::shared_ptr<Transformer> Transformer::random_init(const ArchSpec& arch, uint64_t seed, at::ScalarType dtype,
                                                      at::Device device) {
  // No checkpoint to hold config.json to its sizes here: they must at least fit in memory (float32 first).
  const auto totals = weight_totals(arch, true);
  if (!totals) throw InputError("random_init: the architecture's parameter count overflows");
  const at::ScalarType widest = c10::elementSize(dtype) > 4 && device.is_cpu() ? dtype : at::kFloat;
  check_fits(totals->parameters, totals->tensors, widest, "random_init", "config.json's sizes need");
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
