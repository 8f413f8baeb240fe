#pragma once
// The labelled, ordered tree over code tokens that AST-Probe compares: internal labels are node types,
// leaves are token indices (terminal types are never predicted, so leaves carry no label).
#include <string>
#include <vector>

#include "data/syntax/parse.h"

namespace ps::syntax {

inline const std::string kSep = "<sep>";
inline const std::string kEmpty = "<empty>";

struct LabelledNode {
  std::string label;          // empty for leaves
  int token = -1;             // >= 0 iff leaf
  std::vector<int> children;  // internal nodes only; ordered
};

struct LabelledTree {
  std::vector<LabelledNode> nodes;
  int root = -1;
  int add_leaf(int token);
  int add_node(const std::string& label, std::vector<int> children);
  bool is_leaf(int i) const { return nodes[i].token >= 0; }
  int num_tokens() const;  // number of leaves
};

// Shape-and-label equality from the roots (storage order does not matter).
bool operator==(const LabelledTree& a, const LabelledTree& b);
inline bool operator!=(const LabelledTree& a, const LabelledTree& b) { return !(a == b); }

// Internal nodes = non-terminals (label = type); leaves = terminals numbered 0.. in source order.
LabelledTree to_labelled(const SyntaxTree& tree);

// A code token: a terminal of the (comment-free, string-collapsed) tree, text = code[start_byte:end_byte].
struct CodeToken {
  std::string text;
  uint32_t start_byte = 0, end_byte = 0;
  int node = -1;  // index in SyntaxTree::nodes
};
std::vector<CodeToken> code_tokens(const SyntaxTree& tree, const std::string& code);

// (label, leaf span [begin, end)) for every internal node of the tree, root and unary nodes included, in
// pre-order. Nodes labelled <empty> (only possible in a predicted tree whose root split is <empty>) are skipped.
struct Constituent {
  std::string label;
  int begin = 0, end = 0;
  bool operator==(const Constituent& o) const { return label == o.label && begin == o.begin && end == o.end; }
};
std::vector<Constituent> constituents(const LabelledTree& tree);

// Node indices in pre-order (parents before children), computed iteratively.
std::vector<int> preorder(const LabelledTree& tree);

}  // namespace ps::syntax
