#pragma once
// The scratchpad's panels as plot specs for the one renderer (app/render), so every live panel draws and exports
// exactly like `probescope plot`: a band of an attention pattern, gold vs recovered trees, d̂ against gold d.
#include <string>
#include <vector>

#include "analysis/live/live.h"
#include "analysis/plot/figure.h"

namespace ps::live {

// Query rows [first_row, first_row + rows) of one head (head < 0: the mean over heads) against every key;
// labels: one per token of the input (rows get theirs from the band).
plot::Heatmap pattern_heatmap(const Pattern& p, int head, const std::vector<std::string>& labels,
                              const std::string& title = "");

// Gold tree beside the probe's; without a probe, the gold tree on both sides (titled so).
plot::TreePair trees_figure(const LiveResult& r, const std::string& title = "");

// Gold d and d̂ per adjacent word pair (x = pair index i: words i, i+1); d̂ only with a probe.
plot::LinePlot distances_figure(const LiveResult& r, const std::string& title = "");

// "layer L: h0 0.41 · h1 0.12 · mean 0.27" lines, one per layer.
std::string ast_fraction_text(const LiveResult& r);

}  // namespace ps::live
