#include "analysis/live/live_figures.h"

#include <cstdio>

#include "analysis/plot/probe_trees.h"
#include "analysis/plot/trees.h"
#include "models/util/error.h"

namespace ps::live {

plot::Heatmap pattern_heatmap(const Pattern& p, int head, const std::vector<std::string>& labels, const std::string& title) {
  if (head >= p.heads) throw InputError("attention: head " + std::to_string(head) + " out of range (" + std::to_string(p.heads) + " heads)");
  plot::Heatmap h;
  h.rows = p.rows, h.cols = p.keys;
  h.values.assign(size_t(p.rows * p.keys), 0.0);
  const size_t band = size_t(p.rows * p.keys);
  for (int64_t k = head >= 0 ? head : 0; k < (head >= 0 ? head + 1 : p.heads); ++k)
    for (size_t i = 0; i < band; ++i) h.values[i] += p.values[size_t(k) * band + i];
  if (head < 0)
    for (double& v : h.values) v /= double(p.heads);
  const std::string rows = p.rows < p.keys ? ", query rows " + std::to_string(p.first_row) + "–" +
                                                 std::to_string(p.first_row + p.rows - 1) + " of " + std::to_string(p.keys)
                                           : "";
  h.title = !title.empty() ? title
                           : "layer " + std::to_string(p.layer) + ", " +
                                 (head >= 0 ? "head " + std::to_string(head) : "mean of " + std::to_string(p.heads) + " heads") + rows;
  h.x_label = "key", h.y_label = "query", h.value_label = "attention";
  h.vmin = 0.0, h.vmax = 1.0;
  if (!labels.empty()) {
    if (int64_t(labels.size()) != p.keys)
      throw InputError("attention: " + std::to_string(labels.size()) + " labels for " + std::to_string(p.keys) + " tokens");
    h.col_labels = labels;
    h.row_labels.assign(labels.begin() + p.first_row, labels.begin() + p.first_row + p.rows);
  }
  return h;
}

plot::TreePair trees_figure(const LiveResult& r, const std::string& title) {
  const auto gold = plot::plot_tree(r.gold.tree, r.tokens.words);
  auto pair = plot::tree_pair(gold, r.probe ? plot::plot_tree(r.probe->tree, r.tokens.words) : gold, title);
  if (r.probe) {
    pair.predicted_title = "recovered (layer " + std::to_string(r.probe->layer) + ", k " + std::to_string(r.probe->k) + ")";
  } else {
    pair.predicted_title = "gold (no probe for this layer)";
  }
  return pair;
}

plot::LinePlot distances_figure(const LiveResult& r, const std::string& title) {
  plot::LinePlot lp;
  lp.title = title.empty() ? "syntactic distance per adjacent word pair" : title;
  lp.x.label = "word pair i (words i, i+1)";
  lp.y.label = "distance";
  // Bars side by side per pair (gold, then d̂), starting at 0; half a slot of room at both ends.
  lp.bars = true;
  lp.y.min = 0;
  lp.x.min = -0.5;
  lp.x.max = r.gold.dcu.d.empty() ? 0.5 : double(r.gold.dcu.d.size()) - 0.5;
  plot::Series g;
  g.name = "gold d";
  for (size_t i = 0; i < r.gold.dcu.d.size(); ++i) g.x.push_back(double(i)), g.y.push_back(r.gold.dcu.d[i]);
  lp.series.push_back(std::move(g));
  if (r.probe) {
    plot::Series p;
    p.name = "d̂ (layer " + std::to_string(r.probe->layer) + ")";
    for (size_t i = 0; i < r.probe->d_hat.size(); ++i) p.x.push_back(double(i)), p.y.push_back(r.probe->d_hat[i]);
    lp.series.push_back(std::move(p));
  }
  return lp;
}

std::string ast_fraction_text(const LiveResult& r) {
  std::string out;
  int layer = -1;
  char buf[64];
  for (const auto& f : r.ast_fraction) {
    if (f.layer != layer) {
      if (!out.empty()) out += "\n";
      out += "layer " + std::to_string(f.layer) + ":";
      layer = f.layer;
    }
    std::snprintf(buf, sizeof buf, " %s%d %.3f", f.head >= 0 ? "h" : "", f.head, f.fraction);
    out += f.head >= 0 ? buf : (std::snprintf(buf, sizeof buf, "  mean %.3f", f.fraction), buf);
  }
  return out;
}

}  // namespace ps::live
