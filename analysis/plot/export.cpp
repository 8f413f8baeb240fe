#include "analysis/plot/export.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "analysis/plot/ticks.h"
#include "analysis/plot/trees.h"
#include "models/util/files.h"

namespace ps::plot {

namespace {

using nlohmann::json;

json axis_json(const Axis& a, const Ticks& t) {
  return {{"label", a.label}, {"log", a.log},        {"log_base", a.log_base}, {"min", t.lo},
          {"max", t.hi},      {"ticks", t.values}, {"tick_labels", t.labels}};
}

// '1' allowed, '0' not; with capped (CSV only) '2' = allowed and scored at the capped distance.
std::string mask_row(const MaskPanel& p, int64_t q, bool with_capped = false) {
  std::string s(size_t(p.n), '0');
  for (int64_t k = 0; k < p.n; ++k) {
    const size_t at = size_t(q * p.n + k);
    s[size_t(k)] = !p.allowed[at] ? '0' : with_capped && !p.capped.empty() && p.capped[at] ? '2' : '1';
  }
  return s;
}

std::string capped_row(const MaskPanel& p, int64_t q) {
  std::string s(size_t(p.n), '0');
  for (int64_t k = 0; k < p.n; ++k) s[size_t(k)] = p.capped[size_t(q * p.n + k)] ? '1' : '0';
  return s;
}

json tree_json(const PlotTree& t) {
  json nodes = json::array();
  for (const auto& n : t.nodes)
    nodes.push_back({{"label", n.label}, {"begin", n.begin}, {"end", n.end}, {"leaf", n.leaf},
                     {"children", n.children}, {"x", n.x}, {"depth", n.depth}, {"matched", n.matched}});
  return {{"roots", t.roots}, {"nodes", nodes}};
}

void tree_csv(const PlotTree& t, const char* name, std::string& out) {
  std::vector<int> parent(t.nodes.size(), -1);
  for (size_t i = 0; i < t.nodes.size(); ++i)
    for (int c : t.nodes[i].children) parent[size_t(c)] = int(i);
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    const auto& n = t.nodes[i];
    out += std::string(name) + ',' + std::to_string(i) + ',' + std::to_string(parent[i]) + ',' + csv_cell(n.label) +
           ',' + std::to_string(n.begin) + ',' + std::to_string(n.end) + ',' + (n.leaf ? "1" : "0") + ',' +
           number_text(n.x) + ',' + std::to_string(n.depth) + ',' + (n.matched ? "1" : "0") + '\n';
  }
}

std::string label_or_index(const std::vector<std::string>& labels, int64_t i) {
  return i < int64_t(labels.size()) ? labels[size_t(i)] : std::to_string(i);
}

}  // namespace

std::string number_text(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + '"';
}

std::string to_csv(const FigureSpec& f) {
  std::string out;
  if (const auto* p = std::get_if<LinePlot>(&f)) {
    out = "series,x,y,lo,hi,count\n";
    for (const auto& s : p->series) {
      for (size_t i = 0; i < s.x.size(); ++i) {
        out += csv_cell(s.name) + ',' + number_text(s.x[i]) + ',' + number_text(s.y[i]) + ',';
        out += (i < s.lo.size() ? number_text(s.lo[i]) : "") + ',' + (i < s.hi.size() ? number_text(s.hi[i]) : "");
        out += ',' + (i < s.count.size() ? std::to_string(s.count[i]) : "") + '\n';
      }
    }
  } else if (const auto* h = std::get_if<Heatmap>(&f)) {
    for (int64_t c = 0; c < h->cols; ++c) out += ',' + csv_cell(label_or_index(h->col_labels, c));
    out += '\n';
    for (int64_t r = 0; r < h->rows; ++r) {
      out += csv_cell(label_or_index(h->row_labels, r));
      for (int64_t c = 0; c < h->cols; ++c) out += ',' + number_text(h->values[size_t(r * h->cols + c)]);
      out += '\n';
    }
  } else if (const auto* m = std::get_if<MaskFigure>(&f)) {
    out = "panel,query,keys\n";
    for (size_t k = 0; k < m->panels.size(); ++k)
      for (int64_t q = 0; q < m->panels[k].n; ++q)
        out += std::to_string(k) + ',' + std::to_string(q) + ',' + mask_row(m->panels[k], q, true) + '\n';
  } else if (const auto* t = std::get_if<TreePair>(&f)) {
    out = "tree,node,parent,label,begin,end,leaf,x,depth,matched\n";
    tree_csv(t->gold, "gold", out);
    tree_csv(t->predicted, "predicted", out);
  }
  return out;
}

std::string to_json(const FigureSpec& f, int indent) {
  json j = {{"kind", figure_kind(f)}, {"title", figure_title(f)}};
  if (const auto* p = std::get_if<LinePlot>(&f)) {
    const LineAxes ax = line_axes(*p);
    j["x_axis"] = axis_json(p->x, ax.x);
    j["y_axis"] = axis_json(p->y, ax.y);
    j["markers"] = p->markers;
    j["bars"] = p->bars;
    json series = json::array();
    for (const auto& s : p->series)
      series.push_back({{"name", s.name}, {"x", s.x}, {"y", s.y}, {"lo", s.lo}, {"hi", s.hi}, {"count", s.count}});
    j["series"] = series;
  } else if (const auto* h = std::get_if<Heatmap>(&f)) {
    const Range r = color_range(*h);
    const Ticks bar = linear_ticks(r.lo, r.hi, 5, false, 0.0);
    j.update({{"x_label", h->x_label}, {"y_label", h->y_label}, {"value_label", h->value_label},
              {"rows", h->rows}, {"cols", h->cols}, {"row_labels", h->row_labels}, {"col_labels", h->col_labels},
              {"color_min", r.lo}, {"color_max", r.hi}, {"colorbar_ticks", bar.values}});
    json rows = json::array();
    for (int64_t r0 = 0; r0 < h->rows; ++r0)
      rows.push_back(std::vector<double>(h->values.begin() + r0 * h->cols, h->values.begin() + (r0 + 1) * h->cols));
    j["values"] = rows;
    if (!h->cell_labels.empty()) {
      json labels = json::array();
      for (int64_t r0 = 0; r0 < h->rows; ++r0)
        labels.push_back(std::vector<std::string>(h->cell_labels.begin() + r0 * h->cols,
                                                  h->cell_labels.begin() + (r0 + 1) * h->cols));
      j["cell_labels"] = labels;
    }
  } else if (const auto* m = std::get_if<MaskFigure>(&f)) {
    const Grid g = mask_grid(*m);
    j["columns"] = g.columns;
    json panels = json::array();
    for (const auto& p : m->panels) {
      std::vector<std::string> rows;
      for (int64_t q = 0; q < p.n; ++q) rows.push_back(mask_row(p, q));
      json panel = {{"title", p.title}, {"n", p.n}, {"allowed", rows}, {"segment_starts", p.segment_starts}};
      if (!p.capped.empty()) {
        std::vector<std::string> capped;
        for (int64_t q = 0; q < p.n; ++q) capped.push_back(capped_row(p, q));
        panel["capped"] = capped;
      }
      panels.push_back(panel);
    }
    j["panels"] = panels;
  } else if (const auto* t = std::get_if<TreePair>(&f)) {
    const TreeScores s = tree_scores(*t);
    j.update({{"gold_title", t->gold_title}, {"predicted_title", t->predicted_title}, {"gold", tree_json(t->gold)},
              {"predicted", tree_json(t->predicted)},
              {"constituents", {{"gold", s.gold}, {"predicted", s.predicted}, {"matched", s.matched}, {"f1", s.f1()}}}});
  }
  return j.dump(indent) + "\n";
}

void write_figure_data(const FigureSpec& f, const std::string& path_without_ext) {
  ps::write_file_atomic(path_without_ext + ".csv", to_csv(f));
  ps::write_file_atomic(path_without_ext + ".json", to_json(f));
}

}  // namespace ps::plot
