#include "analysis/plot/figure.h"

#include <algorithm>
#include <cmath>

#include "analysis/plot/trees.h"

namespace ps::plot {

namespace {
template <class... F>
struct overload : F... {
  using F::operator()...;
};
template <class... F>
overload(F...) -> overload<F...>;
}  // namespace

const char* figure_kind(const FigureSpec& f) {
  return std::visit(overload{[](const LinePlot&) { return "lines"; }, [](const Heatmap&) { return "heatmap"; },
                             [](const MaskFigure&) { return "masks"; }, [](const TreePair&) { return "trees"; }},
                    f);
}

const std::string& figure_title(const FigureSpec& f) {
  return std::visit([](const auto& s) -> const std::string& { return s.title; }, f);
}

Range color_range(const Heatmap& h) {
  Range r{INFINITY, -INFINITY};
  for (double v : h.values) {
    if (!std::isfinite(v)) continue;
    r.lo = std::min(r.lo, v);
    r.hi = std::max(r.hi, v);
  }
  if (!(r.lo <= r.hi)) r = {0, 1};
  if (h.vmin) r.lo = *h.vmin;
  if (h.vmax) r.hi = *h.vmax;
  if (!(r.hi > r.lo)) r.hi = r.lo + (r.lo == 0 ? 1 : std::fabs(r.lo) * 0.1);
  return r;
}

Grid mask_grid(const MaskFigure& m) {
  const int n = std::max<int>(1, int(m.panels.size()));
  Grid g;
  g.columns = m.columns > 0 ? std::min(m.columns, n) : n;
  g.rows = (n + g.columns - 1) / g.columns;
  return g;
}

double default_aspect(const FigureSpec& f, double width_inches) {
  const bool wide = width_inches > 5;
  return std::visit(
      overload{
          [&](const LinePlot&) { return wide ? 0.42 : 0.75; },
          // Square cells plus room for labels and the colour bar; capped so a page still has text on it.
          [&](const Heatmap& h) {
            const double cells = h.cols > 0 ? double(h.rows) / double(h.cols) : 1.0;
            return std::clamp(cells * 0.88, 0.35, wide ? 0.8 : 1.05);
          },
          [&](const MaskFigure& m) {
            const Grid g = mask_grid(m);
            // Each panel square, plus a title line per row of panels and the axis labels.
            // Square panels a little narrower than their column (tick labels), two title lines above,
            // tick labels and "key j" below.
            const double side_in = std::max(0.5, width_inches / g.columns - 0.3);
            return (g.rows * (side_in + 0.62) + 0.1 + (m.title.empty() ? 0 : 0.2)) / width_inches;
          },
          [&](const TreePair& p) {
            const double rows = tree_rows(p) + 1.0;  // + a title line
            const bool stacked = resolve_arrangement(p, width_inches) == TreeArrangement::stacked;
            const double height_in = (stacked ? 2 * rows : rows) * 0.3 + 0.25;
            return height_in / width_inches;
          },
      },
      f);
}

}  // namespace ps::plot
