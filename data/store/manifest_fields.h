#pragma once
// The manifest fields every consumer reads, with one rule each, so the same store gets the same label in
// results.csv, id.csv, attention stats and the GUI (which matches result rows by label).
#include <string>

#include "data/store/types.h"

namespace ps::store {

// manifest model_label when set and non-empty, else the file's stem ("runs/gpt2.h5" → "gpt2").
std::string model_label(const Manifest& m, const std::string& store_path);
// manifest language, or "" when absent.
std::string language(const Manifest& m);
// manifest n_layers (blocks of the model; hidden states are 0..n_layers), or 0 when absent. A value that is
// not a plausible count is an InputError naming the store.
int n_layers(const Manifest& m, const std::string& store_path);

}  // namespace ps::store
