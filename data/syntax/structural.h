#pragma once
// Structural-probe targets (Hewitt & Manning 2019 adapted to ASTs): the tree is the labelled AST after
// comment removal and string collapsing; tokens are its leaves. Distance(i, j) = number of edges on the
// path between leaf i and leaf j; depth(i) = number of edges from the root to leaf i.
#include <vector>

#include "data/syntax/labelled_tree.h"

namespace ps::syntax {

// Compact form: a parent array over the tree's nodes plus the leaf node of each token.
struct StructuralTargets {
  std::vector<int> parent;  // parent[node], -1 at the root
  std::vector<int> depth;   // depth[node], 0 at the root
  std::vector<int> leaf;    // leaf[token] = node
  int num_tokens() const { return static_cast<int>(leaf.size()); }
};

StructuralTargets structural_targets(const LabelledTree& tree);
// Row-major n x n matrix of path lengths between token leaves.
std::vector<int> distance_matrix(const StructuralTargets& t);
// Depth of each token's leaf.
std::vector<int> token_depths(const StructuralTargets& t);

}  // namespace ps::syntax
