#pragma once
// Trees for the gold-vs-recovered figure: plain node lists or bracket notation in, constituent matching
// and the layout the renderer draws out. The syntax library's and the probes' trees are converted in
// probe_trees.h, so ps_plot (and the renderer) need neither library.
#include <string>
#include <vector>

#include "analysis/plot/figure.h"

namespace ps::plot {

// From plain nodes: label (internal nodes), leaf, begin (a leaf's token index k) and children. Leaves are
// labelled tokens[k] (or "k" when tokens is shorter); internal spans are computed from the leaves.
PlotTree plot_tree(std::vector<PlotTreeNode> nodes, std::vector<int> roots,
                   const std::vector<std::string>& tokens = {});

// "(A (B x y) z)": a node is "(" label children… ")"; a leaf is a bare word without spaces or
// parentheses, or a "double-quoted" string with \" and \\ escapes. Several top-level trees are several
// roots (probes::to_bracket's output for a predicted top split of <empty>). When every leaf is the
// integer k (leaf k, as to_bracket prints without tokens) and tokens are given, leaves show tokens[k].
PlotTree parse_bracket(const std::string& text, const std::string& source,
                       const std::vector<std::string>& tokens = {});

int num_leaves(const PlotTree& t);

// Builds the pair: checks both trees cover the same leaves, marks each internal node matched when the
// other tree has a constituent with the same (label, span) (multiset matching), and lays both out:
// leaf k at x = k, a parent centred over its first and last child, depth from the root, every leaf on
// the bottom row shared by both trees. InputError when the leaf counts differ.
TreePair tree_pair(PlotTree gold, PlotTree predicted, const std::string& title = "");

struct TreeScores {
  int gold = 0, predicted = 0, matched = 0;  // internal-node constituents
  double precision() const { return predicted ? double(matched) / predicted : 0; }
  double recall() const { return gold ? double(matched) / gold : 0; }
  double f1() const { return matched ? 2 * precision() * recall() / (precision() + recall()) : 0; }
};
TreeScores tree_scores(const TreePair& p);  // from the matched flags set by tree_pair()
int tree_rows(const TreePair& p);          // depth of the leaf row + 1

// side_by_side when both trees fit next to each other with >= 0.3 in per leaf, else stacked.
TreeArrangement resolve_arrangement(const TreePair& p, double width_inches);

}  // namespace ps::plot
