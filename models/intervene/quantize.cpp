#include "models/intervene/quantize.h"

#include <ATen/ATen.h>

#include <cstring>
#include <regex>

#include "models/config/weights_map.h"
#include "models/intervene/flexround.h"
#include "models/intervene/quantize_rtn.h"
#include "models/transformer/transformer.h"
#include "models/util/error.h"
#include "models/util/sha256.h"

namespace ps::models {

namespace {

using ojson = nlohmann::ordered_json;

bool is_block_linear(const std::string& key) {
  static const std::regex re(R"(blocks\.\d+\.(attn\.(qkv|q|k|v|o)|mlp\.(in|gate|out))\.weight)");
  return std::regex_match(key, re);
}

at::ScalarType aten_type(st::DType d) {
  switch (d) {
    case st::DType::F32: return at::kFloat;
    case st::DType::F16: return at::kHalf;
    case st::DType::BF16: return at::kBFloat16;
    case st::DType::F64: return at::kDouble;
    default: return at::kByte;  // not a float: never quantised, never handed to the model
  }
}

bool is_float(st::DType d) {
  return d == st::DType::F32 || d == st::DType::F16 || d == st::DType::BF16 || d == st::DType::F64;
}

at::Tensor to_tensor(const st::TensorData& d) {
  auto t = at::empty(d.shape, at::TensorOptions().dtype(aten_type(d.dtype)));
  std::memcpy(t.data_ptr(), d.bytes.data(), d.bytes.size());
  return t;
}

st::TensorData from_tensor(const std::string& name, st::DType dtype, const at::Tensor& t) {
  const auto c = t.contiguous();
  st::TensorData d{name, dtype, c.sizes().vec(), std::string(size_t(c.nbytes()), '\0')};
  std::memcpy(d.bytes.data(), c.data_ptr(), d.bytes.size());
  return d;
}

}  // namespace

std::vector<std::string> quantized_keys(const ArchSpec& arch, const QuantizeSpec& spec) {
  std::vector<std::string> keys;
  for (const auto& w : expected_weights(arch)) {
    const auto& k = w.key;
    const bool embedding = k == "embed.tokens" || k == "embed.positions" || k == "embed.token_types";
    const bool head = (k == "unembed.weight" && !arch.tie_word_embeddings) || k == "mlm.dense.weight";
    if (is_block_linear(k) || (embedding && !spec.skip_embeddings) || (head && !spec.skip_lm_head)) keys.push_back(k);
  }
  return keys;
}

QuantizeOutcome quantize_checkpoint(const QuantizeSpec& spec, const ArchSpec& arch,
                                    std::map<std::string, st::TensorData>& tensors, const QuantizeRun& run) {
  std::vector<std::string> names;
  for (const auto& [n, t] : tensors) names.push_back(n);
  struct Target {
    std::string key, name;
    bool transpose;
  };
  std::vector<Target> targets;
  std::map<std::string, ResolvedWeight> by_key;
  for (auto& r : resolve_weights(arch, names, "--quantize")) by_key[r.spec.key] = r;
  for (const auto& k : quantized_keys(arch, spec)) {
    auto it = by_key.find(k);
    if (it == by_key.end() || it->second.name.empty()) continue;  // an optional head the checkpoint lacks
    if (!is_float(tensors.at(it->second.name).dtype))
      throw InputError("--quantize: tensor '" + it->second.name + "' is not floating point");
    targets.push_back({k, it->second.name, it->second.spec.transpose});
  }
  if (targets.empty()) throw InputError("--quantize: no weights to quantise in this checkpoint");

  // The model's [out, in] layout of each target, in float32.
  auto model_layout = [&](const Target& t) {
    const auto w = to_tensor(tensors.at(t.name)).to(at::kFloat);
    return t.transpose ? w.t().contiguous() : w;
  };
  QuantizeOutcome out;
  std::map<std::string, QuantizedWeight> result;
  ojson flex = ojson::object();
  if (spec.method == QuantizeSpec::Method::FlexRound) {
    std::map<std::string, at::Tensor> floats;
    for (const auto& [n, t] : tensors)
      if (is_float(t.dtype)) floats[n] = to_tensor(t);
    const auto model = Transformer::from_weights(arch, floats, at::kFloat, at::kCPU, "--quantize source");
    FlexRoundRun fr;
    fr.spec = spec;
    fr.calibration = run.calibration;
    for (const auto& t : targets)
      if (is_block_linear(t.key)) fr.keys.push_back(t.key);
    fr.work_dir = run.work_dir;
    fr.stop_after_blocks = run.stop_after_blocks;
    fr.progress = run.progress;
    auto r = flexround_quantize(*model, fr);
    out.blocks_done = r.blocks_done, out.blocks_total = r.blocks_total;
    if (!r.complete()) {
      out.complete = false;
      return out;
    }
    result = std::move(r.weights);
    ojson blocks = ojson::array();
    for (const auto& b : r.blocks)
      blocks.push_back({{"block", b.block}, {"loss_rtn", b.loss_rtn}, {"loss_final", b.loss_final},
                        {"rel_err_rtn", b.rel_err_rtn}, {"rel_err_final", b.rel_err_final},
                        {"codes_changed", b.codes_changed}, {"seconds", b.seconds}});
    Sha256 h;
    for (const auto& s : run.calibration) h.update(s.data(), s.size() * sizeof(int32_t));
    flex = {{"calibration", run.calibration_source},
            {"calibration_sequences", int64_t(run.calibration.size())},
            {"seqlen", run.calibration.empty() ? 0 : int64_t(run.calibration[0].size())},
            {"calibration_token_ids_sha256", h.hex_digest()},
            {"iters", spec.iters}, {"batch", spec.batch}, {"lr", spec.learning_rate()}, {"seed", spec.seed},
            {"loss", "lp_loss p=2 (sum over positions, mean over the rest) of each block's output"},
            {"optimizer", "Adam(0.9, 0.999, eps 1e-8) over log-scales delta1 [out,1], delta2 [out,in], delta3 [out,1]; "
                          "cosine annealing to 0"},
            {"blocks", blocks}};
  }

  ojson axes = ojson::object(), written = ojson::array();
  double err = 0, norm = 0;
  int64_t params = 0;
  for (const auto& t : targets) {
    const auto w = model_layout(t);
    auto it = result.find(t.key);
    QuantizedWeight q = it != result.end() ? it->second : rtn_quantize(w, spec.bits, spec.per_channel, spec.symmetric);
    err += (w - q.dequant).pow(2).sum().item<double>(), norm += w.pow(2).sum().item<double>();
    params += w.numel();
    auto& td = tensors.at(t.name);
    const auto hf = [&](const at::Tensor& x) { return t.transpose ? x.t().contiguous() : x.contiguous(); };
    td = from_tensor(t.name, td.dtype, hf(q.dequant).to(aten_type(td.dtype)));
    const auto codes = hf(q.codes).to(spec.symmetric ? at::kChar : at::kByte);
    out.quant_file.push_back(from_tensor(t.name + ".codes", spec.symmetric ? st::DType::I8 : st::DType::U8, codes));
    out.quant_file.push_back(from_tensor(t.name + ".scale", st::DType::F32, q.grid.scale.reshape({-1}).contiguous()));
    out.quant_file.push_back(from_tensor(t.name + ".zero_point", st::DType::I32,
                                         q.grid.zero_point.reshape({-1}).to(at::kInt).contiguous()));
    axes[t.name] = t.transpose ? 1 : 0;
    written.push_back(t.name);
  }
  const std::string rule = "W = (codes - zero_point) * scale; scale and zero_point have one entry per output "
                           "channel (or one per tensor), broadcast along the tensor's output-channel axis";
  out.quant_metadata = {{"format", "probescope-quantization-1"}, {"rule", rule}, {"spec", spec.text},
                        {"bits", std::to_string(spec.bits)}, {"output_channel_axis", axes.dump()}};
  out.record = {{"kind", "quantize"},
                {"method", spec.method == QuantizeSpec::Method::RTN ? "round-to-nearest on the min/max grid"
                                                                   : "FlexRound (Lee et al. 2023, arXiv 2306.00317)"},
                {"spec", spec.text},
                {"bits", spec.bits},
                {"per", spec.per_channel ? "channel" : "tensor"},
                {"symmetric", spec.symmetric},
                {"skip_embeddings", spec.skip_embeddings},
                {"skip_lm_head", spec.skip_lm_head},
                {"tensors", written},
                {"parameters_quantized", params},
                {"weight_rel_err", norm > 0 ? err / norm : 0.0},
                {"codes_file", kQuantizationFile},
                {"rule", rule}};
  if (spec.method == QuantizeSpec::Method::FlexRound) out.record["flexround"] = flex;
  return out;
}

}  // namespace ps::models
