#pragma once
// --quantize for `intervene`: which tensors of a checkpoint are quantised (the linear weights of every block;
// embeddings and LM head unless asked), RTN or FlexRound on them, and what is written: model.safetensors
// gets the dequantised weights in the source dtype, quantization.safetensors the integer codes, scales and
// zero-points (W = (codes − zero_point) · scale along each tensor's output-channel axis).
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/config/arch.h"
#include "models/intervene/quantize_spec.h"
#include "models/safetensors/safetensors.h"
#include "models/util/progress.h"

namespace ps::models {

inline constexpr const char* kQuantizationFile = "quantization.safetensors";

struct QuantizeRun {
  std::vector<std::vector<int32_t>> calibration;  // FlexRound: token sequences of one length
  std::string work_dir;                           // FlexRound: per-block state for resume
  nlohmann::ordered_json calibration_source;     // recorded as given (corpus, split, seed)
  int64_t stop_after_blocks = 0;
  Progress* progress = nullptr;
};

struct QuantizeOutcome {
  nlohmann::ordered_json record;          // the step for probescope_intervention.json
  std::vector<st::TensorData> quant_file;  // quantization.safetensors
  std::map<std::string, std::string> quant_metadata;
  bool complete = true;                    // false: FlexRound stopped early (state kept in work_dir)
  int64_t blocks_done = 0, blocks_total = 0;
};

// Canonical keys the spec quantises for this architecture (in expected_weights order).
std::vector<std::string> quantized_keys(const ArchSpec& arch, const QuantizeSpec& spec);

// Replaces the quantised tensors of `tensors` (checkpoint name → data) in place, in their own dtype.
QuantizeOutcome quantize_checkpoint(const QuantizeSpec& spec, const ArchSpec& arch,
                                    std::map<std::string, st::TensorData>& tensors, const QuantizeRun& run);

}  // namespace ps::models
