#pragma once
// Forward-time variants of an opened model, for side-by-side comparison (the desktop app's compare view):
// the same weights under another RoPE scaling, without loading or copying them again. Mask modes need no
// variant: they are per-call RunOptions::mask.
#include <memory>
#include <string>

#include "models/transformer/engine.h"

namespace ps::models {

// `base`'s weights (every tensor shared through Transformer::with_changes) under `rope_scaling` in the
// --rope-scaling grammar (models/config/rope_scaling.h: "yarn:4", "dynamic:2", "none"; "" = the checkpoint's own
// config.json setting), resolved from model_dir/config.json exactly as open_model resolves LoadOptions::rope_scaling,
// in a new Engine with base's options. InputError naming --rope-scaling for a bad spec or a model without rotary
// positions.
std::shared_ptr<Engine> rescaled_engine(const Engine& base, const std::string& model_dir, const std::string& rope_scaling);

}  // namespace ps::models
