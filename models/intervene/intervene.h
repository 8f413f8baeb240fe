#pragma once
// Weight-level interventions that write a new model directory in the Hugging Face layout (config.json,
// model.safetensors, the tokenizer files), so every command, the GUI and other tools load the result as
// they load any checkpoint. What HF has a field for goes into config.json (max positions, rope_scaling);
// the rest (which intervention, its parameters, the source model and its hash) into
// probescope_intervention.json beside it.
#include <optional>
#include <string>

#include "models/intervene/quantize.h"
#include "models/intervene/sparsity_spec.h"
#include "models/intervene/stretch.h"

namespace ps::models {

inline constexpr const char* kInterventionFile = "probescope_intervention.json";
inline constexpr const char* kLowrankSuffix = "-lowrank";              // --decompose: UV only
inline constexpr const char* kMinusLowrankSuffix = "-minus-lowrank";  // --decompose: W - UV = S + residual

struct InterveneOptions {
  std::string model_dir;                // source: HF directory
  std::string out_dir;                  // written atomically (temp dir + rename)
  std::optional<StretchSpec> stretch;   // learned position tables only (GPT-2, BERT, RoBERTa)
  std::string rope_scaling;             // "" = none; LLaMA family only: parse_rope_scaling_spec grammar (rope_scaling.h)
  bool force = false;                   // replace a non-empty out_dir
  // Unstructured pruning of the block matrices (prune.h), then the low-rank + sparse split (decompose.h):
  // out_dir gets UV + S, and the ablations UV and W - UV go to out_dir + kLowrankSuffix / kMinusLowrankSuffix.
  std::optional<PruneSpec> prune;
  std::optional<DecomposeSpec> decompose;
  // Weights only, applied last (order stretch -> prune -> decompose -> quantize); codes, scales and zero-points
  // go to quantization.safetensors. FlexRound keeps per-block state in a hidden sibling of out_dir
  // (.NAME.quantize-work) so a killed run resumes from its last finished block.
  std::optional<QuantizeSpec> quantize;
  QuantizeRun quantize_run;             // calibration sequences (FlexRound), stop_after_blocks, progress
};

struct InterveneResult {
  std::string out_dir;
  int64_t max_positions_before = 0, max_positions_after = 0;  // ArchSpec::max_positions
  std::string record_json;                                    // what probescope_intervention.json holds
  bool complete = true;                // false: FlexRound stopped early; nothing written, rerun to resume
  int64_t blocks_done = 0, blocks_total = 0;
};

// InputError (one line, naming the setting or file) for: no intervention asked, out_dir == model_dir, a
// non-empty out_dir without force, stretching a rotary model, a bad spec. The source is never modified and
// a killed run leaves only a hidden temp directory beside out_dir, never a half-written model.
InterveneResult intervene(const InterveneOptions& options);

}  // namespace ps::models
