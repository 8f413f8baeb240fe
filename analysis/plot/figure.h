#pragma once
// Plot specifications: plain data saying exactly what a figure draws (no Qt here). app/render turns a
// FigureSpec into PDF/SVG/PNG; analysis/plot/export.h writes the same numbers as CSV/JSON, so every
// picture ships with its data.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace ps::plot {

// Publication widths in inches: one column and two columns (ACL/IEEE/NeurIPS-style layouts).
inline constexpr double kOneColumnInches = 3.5;
inline constexpr double kTwoColumnInches = 7.16;

struct Axis {
  std::string label;
  bool log = false;         // logarithmic axis (values must be > 0)
  double log_base = 2;      // the base the ticks step by
  std::optional<double> min, max;  // fixed range; otherwise the data range, padded
};

// One line. lo/hi are empty or the same size as x: a confidence band drawn under the line.
struct Series {
  std::string name;
  std::vector<double> x, y, lo, hi;
  std::vector<int64_t> count;  // rows aggregated into each point (informational; may be empty)
};

// 1. Several series over a shared x axis (F1 by layer, F1 by k on log2 x, ID by layer), as lines or bars.
struct LinePlot {
  std::string title;
  Axis x, y;
  std::vector<Series> series;
  bool markers = true;
  // Grouped bars instead of lines: at each x one bar per series, side by side, from 0 (or the axis floor) to y.
  bool bars = false;
};

// 2. A matrix of values with optional row/column labels (attention [q, k]); drawn with a colour bar.
struct Heatmap {
  std::string title, x_label, y_label, value_label;
  int64_t rows = 0, cols = 0;
  std::vector<double> values;  // rows x cols, row-major
  std::vector<std::string> row_labels, col_labels;  // empty or one per row / column
  std::vector<std::string> cell_labels;  // empty or rows x cols: text drawn in each cell where it fits (logit lens)
  std::optional<double> vmin, vmax;  // colour range; otherwise the finite data range
};

// 3. Boolean attention masks, one panel per masking mode (query i = row, key j = column).
struct MaskPanel {
  std::string title;
  int64_t n = 0;
  std::vector<uint8_t> allowed;         // n x n, 1 = query i may attend key j
  std::vector<int64_t> segment_starts;  // positions where a packed sequence starts (beyond 0)
  // Empty, or n x n: 1 = an allowed key scored at the capped distance rather than its own (LM-Infinite's
  // global branch on rotary models: unrotated key, query rotated by min(limit, i)). Drawn in a second colour.
  std::vector<uint8_t> capped;
};
struct MaskFigure {
  std::string title;
  std::vector<MaskPanel> panels;
  int columns = 0;  // panels per row; 0 = all in one row
};

// 4. Gold and recovered constituency trees over the same tokens, mismatches highlighted.
struct PlotTreeNode {
  std::string label;   // node type, or the token text for leaves
  int begin = 0, end = 0;  // leaf span [begin, end); a leaf has end = begin + 1
  bool leaf = false;
  std::vector<int> children;
  // Filled by layout_tree_pair(): x in leaf units (leaf k at x = k), depth from the root (leaves on the
  // bottom row), and whether the other tree has the same (label, span) constituent.
  double x = 0;
  int depth = 0;
  bool matched = true;
};
struct PlotTree {
  std::vector<PlotTreeNode> nodes;
  std::vector<int> roots;  // usually one; several when a predicted top split was <empty>
};
enum class TreeArrangement { automatic, side_by_side, stacked };
struct TreePair {
  std::string title, gold_title = "gold", predicted_title = "recovered";
  PlotTree gold, predicted;
  TreeArrangement arrangement = TreeArrangement::automatic;
};

using FigureSpec = std::variant<LinePlot, Heatmap, MaskFigure, TreePair>;

const char* figure_kind(const FigureSpec& f);  // "lines", "heatmap", "masks", "trees"
const std::string& figure_title(const FigureSpec& f);

// Height / width for a figure of this kind at the given width in inches: a pleasant default the
// renderer uses when the caller gives no height.
double default_aspect(const FigureSpec& f, double width_inches);

// The colour range a heatmap is drawn with: vmin/vmax when set, else the finite data range (widened
// when flat so a constant matrix still maps to one colour).
struct Range {
  double lo = 0, hi = 1;
};
Range color_range(const Heatmap& h);

// The panel grid of a mask figure: columns x rows.
struct Grid {
  int columns = 1, rows = 1;
};
Grid mask_grid(const MaskFigure& m);

}  // namespace ps::plot
