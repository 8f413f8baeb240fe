#include "models/train/mup.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>

#include "models/config/weights_map.h"
#include "models/util/error.h"

namespace ps::train {

namespace {
std::vector<int64_t> model_shape(const models::WeightSpec& s) {
  auto v = s.hf_shape;
  if (s.transpose && v.size() == 2) std::swap(v[0], v[1]);
  return v;
}
bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}
}  // namespace

std::map<std::string, ParamScale> param_scales(const LmShape& shape, const models::ArchSpec& arch,
                                               const std::map<std::string, at::Tensor>& params) {
  std::map<std::string, ParamScale> out;
  if (shape.parametrization == "sp") {
    for (const auto& [k, p] : params) out[k] = {1, 1, p.dim() >= 2 ? "matrix" : "vector"};
    return out;
  }
  if (shape.parametrization != "mup") throw InputError("--parametrization: expected sp or mup, got '" + shape.parametrization + "'");
  if (shape.arch == "gpt2")
    throw InputError("--parametrization mup: not supported for --arch gpt2 (its fused c_attn needs a per-row learning "
                     "rate for the query third); use llama or roberta");
  if (shape.base_width <= 0) throw InputError("--base-width: required and positive with --parametrization mup");
  if (shape.base_width % shape.heads != 0)
    throw InputError("--base-width: " + std::to_string(shape.base_width) + " is not divisible by --heads " + std::to_string(shape.heads));
  if (shape.tie_embeddings) throw InputError("--parametrization mup: the readout must be untied from the embedding");
  LmShape base = shape;
  base.d_model = shape.base_width;
  if (shape.d_ff > 0) base.d_ff = std::max<int64_t>(1, (shape.d_ff * shape.base_width + shape.d_model / 2) / shape.d_model);
  const auto base_arch = models::parse_arch(lm_config_json(base), "muP base model (--base-width)");
  std::map<std::string, std::vector<int64_t>> base_shapes;
  for (const auto& s : models::expected_weights(base_arch)) base_shapes[s.key] = model_shape(s);
  // The attention multiplier sqrt(base_hd)/hd over SP's 1/sqrt(hd), folded into W_q and b_q.
  const double attn_fold = std::sqrt(double(base_arch.head_dim) / double(arch.head_dim));
  const double width_ratio = double(shape.base_width) / double(arch.d_model);
  for (const auto& [k, p] : params) {
    const auto bs = base_shapes.find(k);
    if (bs == base_shapes.end()) throw RuntimeError("muP: parameter '" + k + "' has no counterpart in the base model");
    if (bs->second.size() != size_t(p.dim())) throw RuntimeError("muP: parameter '" + k + "': rank differs from the base model");
    ParamScale s;
    if (k == "unembed.weight") {
      s = {0.0, width_ratio, "readout"};
    } else if (p.dim() == 2 && k.rfind("embed.", 0) != 0) {
      // Matrix-like: both dimensions grow with the width (equal to the base at base width).
      const double fan_ratio = double(bs->second[1]) / double(p.size(1));
      s = {std::sqrt(fan_ratio), fan_ratio, "hidden"};
    } else {
      s = {1, 1, p.dim() == 2 ? "input" : "vector"};
    }
    if (ends_with(k, ".attn.q.weight") || ends_with(k, ".attn.q.bias")) {
      s.init *= attn_fold;
      s.lr *= attn_fold;
    }
    out[k] = s;
  }
  return out;
}

void apply_init_scales(std::map<std::string, at::Tensor>& params, const std::map<std::string, ParamScale>& scales) {
  at::NoGradGuard no_grad;
  for (auto& [k, p] : params) {
    const auto it = scales.find(k);
    if (it != scales.end() && it->second.init != 1.0) p.mul_(it->second.init);
  }
}

}  // namespace ps::train
