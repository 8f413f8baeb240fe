#pragma once
// Parametrizations for training from scratch: standard (SP, Hugging Face's init, one Adam learning rate)
// and the Maximal Update Parametrization, muP (Yang & Hu, "Feature Learning in Infinite-Width Neural
// Networks", 2021; Yang et al., "Tensor Programs V", 2022), for Adam. muP is set relative to a base
// model: the same shape at d_model = base_width (same heads and layers, d_ff scaled with the width), and
// equals SP there, except that the readout starts at zero. Per parameter (classified as microsoft/mup's
// infshape does: a dimension is "infinite" when it differs between the model and the base model):
//   hidden weights (two width dimensions: q, k, v, o, MLP, the MLM head's dense):
//       init std x sqrt(base_fan_in / fan_in), Adam learning rate x base_fan_in / fan_in
//   input weights (token/position/type embeddings), biases, norm gains (one width dimension or none):
//       unchanged
//   readout (unembed.weight; untied under muP): zero init, learning rate x base_width / d_model; this is
//       TP5 Table 3's output layer (init var 1/fan_in^2, lr 1/fan_in) with the init taken to 0, which the
//       abc-symmetry makes equivalent to mup's MuReadout (logits x base_width / d_model, lr unchanged)
//   attention: 1/head_dim instead of 1/sqrt(head_dim), as sqrt(base_head_dim) / head_dim (SP at the base)
//
// The two multipliers that are not an init or a learning rate (the logits' 1/width and the attention's
// extra sqrt(base_head_dim / head_dim)) are folded into the weights by the abc-symmetry of Adam
// (multiplier x c, init / c, lr / c leaves the function and its training unchanged, eps aside): the
// readout as above, and the attention factor into W_q and b_q (init and learning rate x
// sqrt(base_head_dim / head_dim)). So the stored checkpoint is a standard model whose ordinary forward
// (Transformer, or Hugging Face's own classes) is exactly the function trained; config.json records the
// parametrization under "probescope_parametrization" for the record only. Weight decay is decoupled and
// scaled with each tensor's learning rate, as mup's MuAdamW does (for W_q it also carries the fold).
// GPT-2's fused c_attn would need a per-row rate for its query third: muP here is for llama and roberta.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>

#include "models/config/arch.h"
#include "models/train/hf_checkpoint.h"

namespace ps::train {

struct ParamScale {
  double init = 1;  // multiplies the SP init (0 = zero init)
  double lr = 1;    // multiplies the Adam learning rate (and the decoupled decay)
  std::string kind;  // hidden, input, vector, readout (for --help and the tests)
};

// Per canonical parameter of the arch (the keys of `params`). SP: all 1. InputError for a bad
// --parametrization / --base-width or an arch muP does not support here.
std::map<std::string, ParamScale> param_scales(const LmShape& shape, const models::ArchSpec& arch,
                                               const std::map<std::string, at::Tensor>& params);

// Multiplies each parameter by its init scale, in place.
void apply_init_scales(std::map<std::string, at::Tensor>& params, const std::map<std::string, ParamScale>& scales);

}  // namespace ps::train
