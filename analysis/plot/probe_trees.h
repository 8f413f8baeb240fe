#pragma once
// Plot trees from the trees the syntax library parses and the probes decode. Kept out of ps_plot (in
// ps_plot_probes) so that plotting and rendering do not link LibTorch through the probes.
#include <string>
#include <vector>

#include "analysis/plot/figure.h"
#include "data/syntax/labelled_tree.h"
#include "probes/tree_decode.h"

namespace ps::plot {

// Leaves are labelled tokens[k] (or "k" when tokens is shorter); see plot_tree in trees.h.
PlotTree plot_tree(const ps::syntax::LabelledTree& tree, const std::vector<std::string>& tokens = {});
PlotTree plot_tree(const ps::probes::DecodedTree& tree, const std::vector<std::string>& tokens = {});

}  // namespace ps::plot
