#pragma once
// Planted synthetic data for the probe tests: random labelled binary trees, an independent
// tree → (d, c, u) encoder and bracket printer, and vectors that encode the trees linearly.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "probes/dataset.h"
#include "probes/structural.h"

namespace ps::probes::planted {

struct PNode {
  int left = -1, right = -1;  // both -1 for a leaf
  int32_t label = 0;          // c id for internal nodes
  int32_t unary = 0;          // u id for leaves
  int leaf_index = -1;
};

struct PTree {
  std::vector<PNode> nodes;
  int root = -1;
  int n_leaves = 0;
};

// c vocabulary: <empty>, A, B, C, D<sep>E, F; u vocabulary: <empty>, x, y<sep>z, w.
DecodeVocab planted_vocab();

PTree random_tree(int n_leaves, std::mt19937_64& rng, const DecodeVocab& vocab);

// The spec's f(leaf)/f(node) recursion, written independently of the decoder.
void tree_to_dcu(const PTree& t, std::vector<int32_t>& d, std::vector<int32_t>& c, std::vector<int32_t>& u);

// Bracket string of the fully expanded tree built directly from the tree structure.
std::string expanded_bracket(const PTree& t, const DecodeVocab& vocab);

// Random orthogonal dim × dim matrix, row-major, seeded (the embeddings below use its columns).
std::vector<float> random_orthogonal(int dim, uint64_t seed);

struct PlantedOptions {
  int n_samples = 400;
  int min_leaves = 10, max_leaves = 30;
  int dim = 64;
  double noise = 0.05;
  bool pure_noise = false;  // vectors carry no information at all
  uint64_t seed = 1;
};

// Samples whose vectors are A·t_i + noise with A a fixed random orthogonal embedding (seeded by
// `embed_seed`, shared across splits): t = [a; b], a_i = Σ_{j<i} sqrt(d_j)·e_c(c_j) (so
// ‖t_{i+1}−t_i‖² ≈ d_i and its direction is c_i), b_i = 0.5·e_u(u_i).
ProbeDataset planted_dataset(const PlantedOptions& o, uint64_t embed_seed = 99);

// Leaves-as-tokens tree metric with an exact Pythagorean embedding: each tree edge gets its own
// orthonormal direction, so ‖h_i − h_j‖² = path length and ‖h_i‖² = depth.
StructuralDataset planted_structural(int n_samples, int min_leaves, int max_leaves, int dim, uint64_t seed,
                                     uint64_t embed_seed = 77);

}  // namespace ps::probes::planted
