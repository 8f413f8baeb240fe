#pragma once
// One snippet through a saved AST-Probe: the gold tree (from the store's d, c, u) next to the tree the
// probe recovers from the snippet's vectors, with per-position labels and the snippet's labelled F1.
// What `probescope probe show` prints and the GUI draws.
#include <cstdint>
#include <string>
#include <vector>

#include "data/store/reader.h"
#include "probes/ast_probe.h"
#include "probes/metrics.h"

namespace ps::probes {

struct SnippetView {
  int64_t index = 0;
  std::string id;
  int layer = 0;
  std::vector<std::string> tokens;  // word texts when known, else "w0", "w1", ...
  DecodedTree gold, predicted;
  std::vector<int32_t> gold_d;
  std::vector<double> pred_d;       // d̂ = ‖t_{i+1} − t_i‖²
  std::vector<std::string> gold_c, pred_c, gold_u, pred_u;
  MatchCounts counts;               // labelled constituents of this snippet
  PRF prf;
};

// "I" (a snippet index) or an id from /samples/ids (ids win when a string is both). InputError otherwise.
int64_t find_snippet(const store::StoreReader& reader, const std::string& index_or_id);

// Runs the probe on snippet `index` of the store at the probe's layer. `tokens` (optional) must have
// one entry per word. InputError when the store lacks the layer or syntax, or dims differ.
SnippetView predict_snippet(const store::StoreReader& reader, const SavedAstProbe& probe, int64_t index,
                            const std::vector<std::string>* tokens = nullptr);

// Indented text, one node per line; leaves print as "i token".
std::string to_indented(const DecodedTree& tree, const std::vector<std::string>& tokens);

// Word texts: code[begin:end) for every word span of the snippet (byte offsets, store.md).
std::vector<std::string> word_texts(const std::string& code, const std::vector<store::Span>& spans);

// A snippet's code by id: corpus::find (data/corpus/load.h).

}  // namespace ps::probes
