#pragma once
// Architectures of well-known checkpoints, for benchmarks and random-weight baselines when the real
// weights are not at hand (they cannot be downloaded here). Shapes match the published config.json.
#include <memory>
#include <string>
#include <vector>

#include "models/config/arch.h"
#include "models/transformer/transformer.h"

namespace ps::models {

// "gpt2-small" (124M), "codebert" (RoBERTa-base shape, 125M), "llama-mini" (TinyLlama-like, 4 layers).
ArchSpec arch_preset(const std::string& name);  // throws InputError listing the known names
std::vector<std::string> arch_preset_names();
// Built directly on `device`, so an Engine for that device accepts it.
std::shared_ptr<const Transformer> random_model_preset(const std::string& name, at::ScalarType dtype, uint64_t seed,
                                                       at::Device device = at::kCPU);

}  // namespace ps::models
