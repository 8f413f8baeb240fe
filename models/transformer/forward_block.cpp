// Transformer::forward_block: one block on given hidden states, through run_block (the code forward() runs),
// with some of its parameters optionally replaced: block-wise reconstruction (FlexRound) needs the real
// block with differentiable weights, not a second implementation of it.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <optional>

#include "models/transformer/detail/rotary.h"
#include "models/transformer/transformer.h"
#include "models/util/error.h"

namespace ps::models {

at::Tensor Transformer::forward_block(int64_t layer, const at::Tensor& x, const at::Tensor& position_ids,
                                      const at::Tensor& attn_mask, const std::map<std::string, at::Tensor>& replaced,
                                      bool autograd) const {
  if (layer < 0 || layer >= arch_.n_layers)
    throw InputError("forward_block: layer " + std::to_string(layer) + " outside 0.." + std::to_string(arch_.n_layers - 1));
  if (!x.defined() || x.dim() != 3 || x.size(2) != arch_.d_model)
    throw RuntimeError("forward_block: hidden states must be [B,S," + std::to_string(arch_.d_model) + "]");
  std::optional<c10::InferenceMode> inference;
  if (!autograd) inference.emplace();
  const int64_t B = x.size(0), S = x.size(1);
  const std::string prefix = "blocks." + std::to_string(layer) + ".";
  for (const auto& [key, t] : replaced) {
    const at::Tensor& own = param(key);
    if (key.rfind(prefix, 0) != 0 || !own.defined())
      throw InputError("forward_block: '" + key + "' is not a parameter of block " + std::to_string(layer));
    if (t.sizes() != own.sizes() || t.scalar_type() != own.scalar_type())
      throw InputError("forward_block: '" + key + "' must keep the parameter's shape and dtype");
  }
  const Block blk = assemble_block([&](const std::string& k) {
    auto it = replaced.find(prefix + k);
    return it != replaced.end() ? it->second : param(prefix + k);
  });

  at::Tensor pos = position_ids;
  if (!pos.defined()) pos = at::arange(S, x.options().dtype(at::kLong)).unsqueeze(0).expand({B, S});
  if (pos.dim() != 2 || pos.size(0) != B || pos.size(1) != S || pos.scalar_type() != at::kLong)
    throw RuntimeError("forward_block: position_ids must be [B,S] int64");
  at::Tensor keep = attn_mask.defined() ? attn_mask : default_mask(B, S, x.device());
  if (keep.dim() != 3 || keep.size(0) != B || keep.size(1) != S || keep.size(2) != S || keep.scalar_type() != at::kBool)
    throw RuntimeError("forward_block: attn_mask must be a [B,S,S] bool tensor");
  keep = repair_empty_rows(keep);
  at::Tensor cos, sin;
  if (arch_.positional == PositionalKind::Rotary) std::tie(cos, sin) = rope_cos_sin(arch_, pos, dtype_);
  return run_block(blk, x, cos, sin,
                   [&](const Block& b, const at::Tensor& h, const at::Tensor& c, const at::Tensor& s, bool want) {
                     return attention(b, h, keep, c, s, want);
                   },
                   false)
      .out;
}

}  // namespace ps::models
