#pragma once
// AST-Probe binarization (spec §1, rules 1-4) and its inverse.
#include <string>
#include <vector>

#include "data/syntax/labelled_tree.h"

namespace ps::syntax {

struct BinaryNode {
  std::string label;           // internal: a type, "A<sep>B" chain or "<empty>"; leaves: ""
  int left = -1, right = -1;   // internal nodes only
  int token = -1;              // >= 0 iff leaf
  std::string unary = kEmpty;  // leaves: label of the unary node(s) above, "<empty>" if none
};

struct BinaryTree {
  std::vector<BinaryNode> nodes;
  int root = -1;
  bool is_leaf(int i) const { return nodes[i].token >= 0; }
};

// Rules: (1) a unary non-terminal over a non-terminal merges into "parent<sep>child" (down the chain);
// (2) a non-terminal whose only child is a leaf becomes that leaf with unary = its label;
// (3) > 2 children: P(a,b,c,d) -> P(a, <empty>(b, <empty>(c, d))); (4) 2 children kept in order.
// Throws InputError for an internal node without children.
BinaryTree binarize(const LabelledTree& tree);

// Inverse: drop <empty> nodes (children spliced up), put unary nodes above leaves, expand A<sep>B chains.
// A root labelled <empty> has no single node to stand for it: the result then gets an <empty> root.
LabelledTree unbinarize(const BinaryTree& tree);

}  // namespace ps::syntax
