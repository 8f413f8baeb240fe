#pragma once
// Probe datasets from an HDF5 activation store (data/store/store.md). Labels, splits and word types do
// not depend on the layer, so they are read once per store (StoreLabels); vectors are read one layer
// at a time (build_*), never all layers at once.
//
// Splits: snippet → train/valid/test by a seeded hash of its id (stable under corpus order, the same
// for every layer, k and seed). Word types (for the control tasks) are the word's subword id
// sequence: identical text gives identical ids under one tokenizer.
#include <cstdint>
#include <string>
#include <vector>

#include "data/store/reader.h"
#include "probes/dataset.h"
#include "probes/linear.h"
#include "probes/structural.h"

namespace ps::probes {

enum class Split : uint8_t { train = 0, valid = 1, test = 2 };
const char* split_name(Split s);

struct SplitOptions {
  double train = 0.8, valid = 0.1, test = 0.1;  // fractions; normalised by their sum
  uint64_t seed = 123;
  // Instead of hashing: the corpus's own split (`probescope corpus build`), which extract keeps in
  // table "snippet_meta", column "split" (0 train, 1 valid, 2 test; snippets without one are unused).
  bool corpus = false;
  // Caps (0 = all), applied in store order after hashing: the paper uses 20,000 / 2,000 / 4,000.
  int64_t max_train = 0, max_valid = 0, max_test = 0;
};

// Which split a snippet id falls in (FNV-1a of the id, mixed with the seed, against the fractions).
Split split_of(const std::string& id, const SplitOptions& o);

// "0.8,0.1,0.1" → fractions, or "corpus". Throws InputError on malformed or non-positive values.
void parse_split(const std::string& text, SplitOptions& o);

// What a probe sweep knows about a store before reading any activation.
struct StoreLabels {
  std::string path;
  std::string model;     // manifest model_label, else the file stem
  std::string language;  // manifest language ("" when absent)
  int64_t n_samples = 0;
  std::vector<int> layers;           // word-level layers stored, ascending
  DecodeVocab vocab;                 // c/u vocabularies with their <empty> ids, sep "<sep>"
  std::vector<int64_t> word_offsets; // [N+1]
  std::vector<int64_t> snippets[3];  // snippet indices per Split (only snippets with ≥ 1 word)
  std::vector<std::string> ids;      // [N]
  // Per snippet: (d, c, u) ids (when the store has syntax) and word types.
  std::vector<std::vector<int32_t>> d, c, u, types;
  // Per snippet (when asked for): word depths and the row-major n×n tree distances between words.
  std::vector<std::vector<float>> depths, distances;
  bool has_syntax = false;
  std::vector<int8_t> split_of_snippet;  // [N]: Split, or -1 for snippets without words
};

struct LabelOptions {
  bool syntax = true;       // read d/c/u (AST-Probe, linear u labels)
  bool depths = false;      // word depths from table "structural" (column depth)
  bool distances = false;   // tree distances from "structural" (leaf_node) and "ast_nodes" (parent)
  bool types = true;        // word types from the subword ids (control tasks)
};

// Reads everything but activations. Throws InputError naming the file (and snippet) when what the
// options ask for is missing or inconsistent (e.g. a leaf_node outside the snippet's ast_nodes).
StoreLabels read_store_labels(const store::StoreReader& reader, const SplitOptions& split, const LabelOptions& opt);

// Layer specs ("all", "0,4,-1") are StoreReader::resolve_layers: the store's one rule.

// One split of one layer. Vectors are streamed in slabs (the layer is never held twice).
struct LayerSplits {
  int layer = 0;
  int dim = 0;
  std::vector<std::vector<float>> vectors[3];  // per split, per snippet: n_words × dim
};
LayerSplits read_layer(const store::StoreReader& reader, const StoreLabels& labels, int layer);

// Datasets for one split; they move the split's vectors out of `layer` (call once per split and kind).
ProbeDataset take_probe_dataset(LayerSplits& layer, const StoreLabels& labels, Split s);
StructuralDataset take_structural_dataset(LayerSplits& layer, const StoreLabels& labels, Split s, bool distances);
// Linear probe: one row per word, label = the word's u id (its unary AST node-type chain, "<empty>"
// when the leaf has none), word_types filled.
TokenDataset take_token_dataset(LayerSplits& layer, const StoreLabels& labels, Split s);
// Word types of a split's snippets, aligned with take_probe_dataset's samples.
std::vector<std::vector<int32_t>> split_types(const StoreLabels& labels, Split s);

}  // namespace ps::probes
