#pragma once
// Axis ranges and tick selection, shared by the renderer and the JSON export (the ticks drawn are the
// ticks written).
#include <cstdint>
#include <string>
#include <vector>

#include "analysis/plot/figure.h"

namespace ps::plot {

struct Ticks {
  double lo = 0, hi = 1;          // the axis range drawn
  std::vector<double> values;     // tick positions inside [lo, hi]
  std::vector<std::string> labels;
};

// Linear ticks on steps of {1, 2, 2.5, 5} x 10^k (integer steps only when `integers`), aiming at
// `target` ticks. The range is [data_min, data_max] padded by `pad` (fraction of the span) on each
// side; a degenerate span is widened so the ticks stay meaningful.
Ticks linear_ticks(double data_min, double data_max, int target = 5, bool integers = false, double pad = 0.04);

// Log ticks at powers of `base` (every m-th power when there are more than `max_ticks`); positive data
// only. The range is padded in log space.
Ticks log_ticks(double data_min, double data_max, double base = 2, int max_ticks = 8, double pad = 0.04);

// Shortest decimal with `decimals` digits after the point, never "-0" ("1.5", "0.25", "12").
std::string format_tick(double v, int decimals);
// Digits after the point needed to tell ticks `step` apart.
int tick_decimals(double step);

// Every `stride`-th label fits when labels of `label_extent` sit in slots of `slot` (same units).
int64_t label_stride(double slot, double label_extent);

// The ticks for both axes of a line plot: data range over every series (x, y, lo, hi), the axis's
// fixed min/max if set, integer x ticks when every x is an integer.
struct LineAxes {
  Ticks x, y;
};
LineAxes line_axes(const LinePlot& p, int x_target = 6, int y_target = 5);

}  // namespace ps::plot
