#pragma once
// A planted HDF5 store for the store → dataset → train → evaluate proofs. Every snippet is a random
// labelled binary tree (planted.h) whose leaves are its words; three word-level layers:
//   layer 0: pure noise N(0, 1)                         (what a probe on nothing gets)
//   layer 1: (d, c, u) planted in a random subspace      (AST-Probe / linear u labels, + noise)
//   layer 2: tree metric planted: ‖h_i − h_j‖² = distance (structural probes, + noise)
// plus syntax d/c/u (as strings), tables "structural" (depth, leaf_node) and "ast_nodes" (parent),
// table "snippet_meta" (split), one subword per word whose input id is the word's type, and one
// empty snippet (no words).
#include <cstdint>
#include <string>
#include <vector>

#include "planted.h"

namespace ps::probes::planted {

struct PlantedStoreOptions {
  int n_snippets = 400;
  int min_leaves = 10, max_leaves = 30;
  int dim = 64;
  double noise = 0.05;  // Gaussian noise on layers 1 and 2
  int n_types = 40;     // word types, drawn independently of the labels
  uint64_t seed = 1;
  uint64_t embed_seed = 99;
  std::string model_label = "planted", language = "python";
};

struct PlantedStore {
  std::vector<PTree> trees;                 // per snippet (empty tree for the empty snippet)
  std::vector<std::string> ids;             // per snippet
  std::vector<std::vector<int32_t>> types;  // per snippet, per word
  std::vector<float> embedding;             // dim × dim orthogonal matrix behind layers 1 and 2
};

// Writes the store (overwriting) and returns what was planted.
PlantedStore write_planted_store(const std::string& path, const PlantedStoreOptions& o);

// The code text whose word i sits at bytes [5i, 5i+4): "t007 t012 ..." (word types as text).
std::string planted_code(const std::vector<int32_t>& types);

// Tree distances and depths between leaves, computed from the planted tree directly.
std::vector<float> planted_distances(const PTree& t);
std::vector<float> planted_depths(const PTree& t);

// The corpus split planted in table snippet_meta: 2 (test) for s % 5 == 0, 1 (valid) for 1, else 0
// (train); -1 (none) for s % 7 == 6.
int32_t planted_corpus_split(int snippet);

// A fresh empty directory under the build tree.
std::string fresh_dir(const std::string& name);

}  // namespace ps::probes::planted
