#pragma once
// The manifest fields every consumer reads, with one rule each, so the same store gets the same label in
// results.csv, id.csv, attention stats and the GUI (which matches result rows by label). StoreReader's
// model_label(), language(), n_layers() and resolve_layers() are these rules applied to an open store;
// the free functions serve code that holds only a manifest (or only a list of stored layers).
#include <string>
#include <vector>

#include "data/store/types.h"

namespace ps::store {

// manifest model_label when set and non-empty, else the file's stem ("runs/gpt2.h5" → "gpt2").
std::string model_label(const Manifest& m, const std::string& store_path);
// manifest language, or "" when absent.
std::string language(const Manifest& m);
// manifest n_layers (blocks of the model; hidden states are 0..n_layers), or 0 when absent. A value that is
// not a plausible count is an InputError naming the store.
int n_layers(const Manifest& m, const std::string& store_path);

// How a layer is shown in listings, tables and plots: "4 (ln_f)" for the layer the manifest names as the final
// norm's output (final_norm_layer; GPT-2/LLaMA's last hidden state, which differs in scale as well as depth),
// plain "4" otherwise.
std::string layer_label(const Manifest& m, int layer);
// The stored word activation holding the raw last block output beside the final norm's
// (manifest raw_last_block, e.g. "words/blocks.3.hook_resid_post"), or "" when the store has none.
std::string raw_last_block_act(const Manifest& m);

// The one layer-spec rule for stored layers. "all" or "" = every stored layer; "0,4,-1" = those layers in
// the order given, duplicates dropped. A negative layer counts from the model's last hidden state
// (-1 = n_layers) or, when n_layers is unknown (0), from the last stored layer. Every layer must be stored:
// InputError "store: layer 5 is not stored (stored: 0,1,2)"; a malformed item names the setting "layers".
std::vector<int> resolve_layers(const std::string& spec, const std::vector<int>& stored, const std::string& store_path,
                                int n_layers);

}  // namespace ps::store
