#pragma once
// Which tensors a checkpoint of a given architecture must hold: for each canonical parameter, its
// Hugging Face name(s), the shape stored on disk, and whether it is stored transposed (GPT-2 Conv1D
// keeps [in, out]; the model uses Linear's [out, in]). No LibTorch here.
//
// Canonical keys (the model's own vocabulary):
//   embed.tokens [V,d]  embed.positions [P,d]  embed.token_types [T,d]  embed.ln.{weight,bias}
//   blocks.L.ln1.*  blocks.L.attn.{qkv|q|k|v|o}.{weight,bias}  blocks.L.ln2.*
//   blocks.L.mlp.{in,gate,out}.{weight,bias}  ln_final.*  unembed.weight
//   mlm.{dense,ln}.{weight,bias} mlm.bias (BERT-family masked-LM head)
// For BERT (post-LN) ln1 is the LayerNorm after attention and ln2 the one after the MLP.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/config/arch.h"

namespace ps::models {

// How random_init redraws a tensor (Hugging Face's _init_weights).
enum class Init { Normal, Ones, Zeros, NormalResidual /* GPT-2 c_proj: std / sqrt(2 n_layer) */ };

struct WeightSpec {
  std::string key;                     // canonical name
  std::vector<std::string> hf_names;   // candidate checkpoint names, first match wins
  bool top_level = false;              // lives outside the base-model prefix (lm_head.*, cls.*)
  std::vector<int64_t> hf_shape;       // shape as stored in the checkpoint
  bool transpose = false;              // stored [in,out]; the model wants [out,in]
  bool optional = false;               // absent is fine (LM heads)
  Init init = Init::Normal;
};

// Every spec, n_layers blocks included: call only for an arch already checked against real tensors
// (resolve_weights) or against memory (weight_totals), since a config may claim any number of layers.
std::vector<WeightSpec> expected_weights(const ArchSpec& arch);
// The specs of one block.
std::vector<WeightSpec> layer_weights(const ArchSpec& arch, int64_t layer);

// How many tensors and parameters the arch needs (optional heads counted when with_optional), computed
// without building every layer's specs; nullopt when a count overflows int64.
struct WeightTotals {
  int64_t tensors = 0;
  int64_t parameters = 0;
};
std::optional<WeightTotals> weight_totals(const ArchSpec& arch, bool with_optional = false);

// The base-model prefix used by a checkpoint: "transformer.", "model.", "bert.", "roberta." or "".
// Detected from where the token embedding lives; throws InputError(source: ...) if it is nowhere.
std::string detect_prefix(const ArchSpec& arch, const std::vector<std::string>& names, const std::string& source);

struct ResolvedWeight {
  WeightSpec spec;
  std::string name;  // full checkpoint name; empty for an absent optional tensor
};

// Matches every spec to a checkpoint name, one layer at a time, so memory stays bounded by the names
// given however many layers the arch claims. A missing required tensor → InputError
// "source: tensor 'name': missing (needed for <key>)", plus how many layers the checkpoint holds when
// config.json claims more.
std::vector<ResolvedWeight> resolve_weights(const ArchSpec& arch, const std::vector<std::string>& names,
                                            const std::string& source);

std::string shape_str(const std::vector<int64_t>& shape);  // "[32, 96]"

}  // namespace ps::models
