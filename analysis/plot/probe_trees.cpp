#include "analysis/plot/probe_trees.h"

#include <algorithm>

#include "analysis/plot/trees.h"

namespace ps::plot {

PlotTree plot_tree(const ps::syntax::LabelledTree& tree, const std::vector<std::string>& tokens) {
  if (tree.root < 0) return {};
  std::vector<PlotTreeNode> nodes;
  for (const auto& n : tree.nodes) {
    PlotTreeNode p;
    p.leaf = n.token >= 0;
    p.label = n.label;
    p.begin = std::max(0, n.token);
    p.children = n.children;
    nodes.push_back(std::move(p));
  }
  return plot_tree(std::move(nodes), {tree.root}, tokens);
}

PlotTree plot_tree(const ps::probes::DecodedTree& tree, const std::vector<std::string>& tokens) {
  std::vector<PlotTreeNode> nodes;
  for (const auto& n : tree.nodes) {
    PlotTreeNode p;
    p.leaf = n.leaf;
    p.label = n.label;
    p.begin = n.begin;
    p.children = n.children;
    nodes.push_back(std::move(p));
  }
  return plot_tree(std::move(nodes), tree.roots, tokens);
}

}  // namespace ps::plot
