#pragma once
// (d, c, u) → labelled tree (spec ast-probe.md §1, last bullet). Self-contained: works on label ids
// and the vocabularies' strings, so predictions and gold go through exactly the same code.
#include <cstdint>
#include <string>
#include <vector>

#include "probes/dataset.h"

namespace ps::probes {

// One snippet's prediction (or gold, with d converted to double): |d| = |c| = n-1, |u| = n.
struct DcuPrediction {
  std::vector<double> d;
  std::vector<int32_t> c;
  std::vector<int32_t> u;
};

// A constituent: label and inclusive leaf span [begin, end].
struct Constituent {
  std::string label;
  int begin = 0;
  int end = 0;
  bool operator==(const Constituent& o) const { return label == o.label && begin == o.begin && end == o.end; }
  bool operator<(const Constituent& o) const;
};

struct TreeNode {
  std::string label;  // "" for leaves
  int begin = 0;      // inclusive leaf span
  int end = 0;
  bool leaf = false;  // leaves are the tokens; token index = begin
  std::vector<int> children;
};

// Fully expanded tree: <empty> nodes removed (children spliced up), unary nodes inserted above leaves,
// "A<sep>B" expanded into the chain A → B. `roots` has one entry unless the top split was <empty>.
struct DecodedTree {
  std::vector<TreeNode> nodes;
  std::vector<int> roots;
};

// Split at argmax d (first index on ties), label with c, recurse. Throws InputError on size mismatch
// or ids outside the vocabularies.
DecodedTree decode_tree(const std::vector<double>& d, const std::vector<int32_t>& c,
                        const std::vector<int32_t>& u, const DecodeVocab& vocab);
DecodedTree decode_tree(const DcuPrediction& p, const DecodeVocab& vocab);

// Every internal node (root and unary nodes included) as a constituent, in pre-order.
std::vector<Constituent> constituents(const DecodedTree& tree);
std::vector<Constituent> decode_constituents(const DcuPrediction& p, const DecodeVocab& vocab);

// "(A (B 0 1) 2)" with leaves printed as token indices, or as tokens[i] when tokens is given (quoted with
// \" and \\ escapes when a token holds parentheses, quotes or whitespace, as plot::parse_bracket reads).
std::string to_bracket(const DecodedTree& tree, const std::vector<std::string>* tokens = nullptr);

// "A<sep>B<sep>C" → {"A","B","C"}; an empty separator returns {label}.
std::vector<std::string> split_label(const std::string& label, const std::string& sep);

// Gold (d, c, u) as a DcuPrediction, for scoring gold through the same decoder.
DcuPrediction gold_as_prediction(const ProbeSample& s);

}  // namespace ps::probes
