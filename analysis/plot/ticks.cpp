#include "analysis/plot/ticks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace ps::plot {

namespace {

// Ticks at multiples of the best step inside the final range [lo, hi].
Ticks ticks_in(double lo, double hi, int target, bool integers) {
  Ticks t;
  t.lo = lo;
  t.hi = hi;
  const double span = hi - lo;
  const int k0 = static_cast<int>(std::floor(std::log10(span / std::max(1, target))));
  double best_step = 0, best_cost = std::numeric_limits<double>::infinity();
  for (int k = k0 - 1; k <= k0 + 2; ++k) {
    for (double m : {1.0, 2.0, 2.5, 5.0}) {
      const double step = m * std::pow(10.0, k);
      if (integers && (step < 1 || std::fabs(step - std::round(step)) > 1e-9)) continue;
      const double count = std::floor(hi / step + 1e-9) - std::ceil(lo / step - 1e-9) + 1;
      // Closest count to the target; fewer than 2 ticks is useless; 2.5 only when clearly better.
      double cost = std::fabs(count - target) + (count < 2 ? 100 : 0) + (m == 2.5 ? 1.0 : 0);
      if (cost < best_cost - 1e-12) {
        best_cost = cost;
        best_step = step;
      }
    }
  }
  if (best_step <= 0) best_step = 1;  // integers over a tiny span: step 1
  const int decimals = tick_decimals(best_step);
  const double first = std::ceil(lo / best_step - 1e-9), last = std::floor(hi / best_step + 1e-9);
  for (double i = first; i <= last; i += 1) {
    double v = i * best_step;
    if (std::fabs(v) < best_step * 1e-9) v = 0;  // no -0 or 1e-17 from rounding
    t.values.push_back(v);
    t.labels.push_back(format_tick(v, decimals));
  }
  return t;
}

void widen_degenerate(double& lo, double& hi, bool integers) {
  if (hi > lo) return;
  const double half = integers ? 1.0 : (lo == 0 ? 1.0 : std::fabs(lo) * 0.1);
  lo -= half;
  hi += half;
}

}  // namespace

int tick_decimals(double step) {
  for (int d = 0; d < 12; ++d) {
    const double s = step * std::pow(10.0, d);
    if (std::fabs(s - std::round(s)) < 1e-6 * std::max(1.0, s)) return d;
  }
  return 12;
}

std::string format_tick(double v, int decimals) {
  char buf[64];
  if (v != 0 && (std::fabs(v) >= 1e7 || decimals > 8)) {
    std::snprintf(buf, sizeof buf, "%.6g", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.*f", std::max(0, decimals), v);
  }
  std::string s = buf;
  // "-0", "-0.00": the sign of a zero carries no information.
  if (s[0] == '-' && s.find_first_not_of("0.", 1) == std::string::npos) s.erase(0, 1);
  return s;
}

Ticks linear_ticks(double data_min, double data_max, int target, bool integers, double pad) {
  if (!std::isfinite(data_min) || !std::isfinite(data_max)) data_min = 0, data_max = 1;
  if (data_min > data_max) std::swap(data_min, data_max);
  widen_degenerate(data_min, data_max, integers);
  const double span = data_max - data_min;
  return ticks_in(data_min - pad * span, data_max + pad * span, target, integers);
}

Ticks log_ticks(double data_min, double data_max, double base, int max_ticks, double pad) {
  if (!(base > 1)) base = 10;
  if (!(data_min > 0) || !std::isfinite(data_min)) data_min = 1;
  if (!(data_max > 0) || !std::isfinite(data_max)) data_max = data_min * base;
  if (data_min > data_max) std::swap(data_min, data_max);
  const double lb = std::log(base);
  double lmin = std::log(data_min) / lb, lmax = std::log(data_max) / lb;
  if (lmax - lmin < 1e-12) lmin -= 0.5, lmax += 0.5;
  const double span = lmax - lmin;
  lmin -= pad * span;
  lmax += pad * span;
  Ticks t;
  t.lo = std::pow(base, lmin);
  t.hi = std::pow(base, lmax);
  const int first = static_cast<int>(std::ceil(lmin - 1e-9)), last = static_cast<int>(std::floor(lmax + 1e-9));
  const int count = last - first + 1;
  const int every = std::max(1, (count + max_ticks - 1) / std::max(1, max_ticks));
  for (int p = first; p <= last; ++p) {
    if (((p % every) + every) % every != 0) continue;
    const double v = std::pow(base, p);
    t.values.push_back(v);
    t.labels.push_back(v >= 1 && v < 1e7 && v == std::round(v) ? format_tick(v, 0) : format_tick(v, tick_decimals(v)));
  }
  return t;
}

int64_t label_stride(double slot, double label_extent) {
  if (!(slot > 0)) return std::numeric_limits<int64_t>::max();
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(label_extent / slot - 1e-9)));
}

LineAxes line_axes(const LinePlot& p, int x_target, int y_target) {
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  bool integer_x = true;
  auto take_y = [&](double v) {
    if (!std::isfinite(v) || (p.y.log && v <= 0)) return;
    ymin = std::min(ymin, v);
    ymax = std::max(ymax, v);
  };
  for (const auto& s : p.series) {
    for (size_t i = 0; i < s.x.size(); ++i) {
      const double x = s.x[i];
      if (!std::isfinite(x) || (p.x.log && x <= 0)) continue;
      xmin = std::min(xmin, x);
      xmax = std::max(xmax, x);
      if (x != std::round(x)) integer_x = false;
      if (i < s.y.size()) take_y(s.y[i]);
      if (i < s.lo.size()) take_y(s.lo[i]);
      if (i < s.hi.size()) take_y(s.hi[i]);
    }
  }
  if (!(xmin <= xmax)) xmin = p.x.log ? 1 : 0, xmax = p.x.log ? 2 : 1;
  if (!(ymin <= ymax)) ymin = p.y.log ? 1 : 0, ymax = p.y.log ? 2 : 1;
  auto axis = [](const Axis& a, double lo, double hi, int target, bool ints) {
    if (a.min) lo = *a.min;
    if (a.max) hi = *a.max;
    const double pad = a.min && a.max ? 0.0 : 0.04;
    Ticks t = a.log ? log_ticks(lo, hi, a.log_base, 8, pad) : linear_ticks(lo, hi, target, ints, pad);
    // A fixed end is exact: drop the padding on that side (and any tick now outside).
    if (a.min) t.lo = *a.min;
    if (a.max) t.hi = *a.max;
    for (size_t i = t.values.size(); i-- > 0;) {
      if (t.values[i] < t.lo - 1e-12 * std::fabs(t.lo) || t.values[i] > t.hi + 1e-12 * std::fabs(t.hi)) {
        t.values.erase(t.values.begin() + i);
        t.labels.erase(t.labels.begin() + i);
      }
    }
    return t;
  };
  return {axis(p.x, xmin, xmax, x_target, integer_x), axis(p.y, ymin, ymax, y_target, false)};
}

}  // namespace ps::plot
