// Line plots: bands, lines, markers (or grouped bars), ticks, axis labels and a legend placed where it hides no data.
#include <QPainterPath>
#include <QPolygonF>
#include <algorithm>
#include <cmath>

#include "analysis/plot/ticks.h"
#include "app/render/canvas.h"
#include "app/render/kinds.h"

namespace ps::render {

namespace {

using ps::plot::LinePlot;

struct Mapper {
  QRectF area;
  ps::plot::Ticks x, y;
  bool logx, logy;
  static double f(double v, bool log) { return log ? std::log(v) : v; }
  double px(double v) const {
    return area.left() + (f(v, logx) - f(x.lo, logx)) / (f(x.hi, logx) - f(x.lo, logx)) * area.width();
  }
  double py(double v) const {
    return area.bottom() - (f(v, logy) - f(y.lo, logy)) / (f(y.hi, logy) - f(y.lo, logy)) * area.height();
  }
  bool ok(double xv, double yv) const {
    return std::isfinite(xv) && std::isfinite(yv) && (!logx || xv > 0) && (!logy || yv > 0);
  }
  // Where bars start (pixels): y = 0 when the axis shows it, else the axis end nearest to 0.
  double bar_base() const { return std::clamp(py(logy ? y.lo : 0.0), area.top(), area.bottom()); }
};

struct Legend {
  std::vector<QString> names;
  double row_h = 0, swatch = 0, name_w = 0;
  QSizeF box() const { return {swatch + 3 + name_w + 6, row_h * names.size() + 4}; }
};

// Pixel width of one x slot of grouped bars: the smallest gap between distinct x values of any series.
double bar_slot(const LinePlot& p, const Mapper& m) {
  std::vector<double> xs;
  for (const auto& s : p.series)
    for (double x : s.x)
      if (std::isfinite(x)) xs.push_back(m.px(x));
  std::sort(xs.begin(), xs.end());
  double slot = m.area.width() / 4;
  for (size_t i = 1; i < xs.size(); ++i)
    if (xs[i] - xs[i - 1] > 0.5) slot = std::min(slot, xs[i] - xs[i - 1]);
  return slot;
}

// Series k's bar at (x, y): its share of 80 % of the slot, from the base to y.
QRectF bar_rect(const LinePlot& p, const Mapper& m, double slot, size_t k, double x, double y) {
  const double group = 0.8 * slot, w = group / double(std::max<size_t>(1, p.series.size()));
  const double left = m.px(x) - group / 2 + double(k) * w, top = m.py(y), base = m.bar_base();
  return QRectF(QPointF(left, std::min(top, base)), QPointF(left + w, std::max(top, base)));
}

// How many data points and segment samples fall inside r: the legend goes where this is zero.
int hidden(const LinePlot& p, const Mapper& m, const QRectF& r) {
  int count = 0;
  if (p.bars) {
    const double slot = bar_slot(p, m);
    for (size_t k = 0; k < p.series.size(); ++k)
      for (size_t i = 0; i < p.series[k].x.size(); ++i)
        if (m.ok(p.series[k].x[i], p.series[k].y[i]) && r.intersects(bar_rect(p, m, slot, k, p.series[k].x[i], p.series[k].y[i])))
          ++count;
    return count;
  }
  for (const auto& s : p.series) {
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!m.ok(s.x[i], s.y[i])) continue;
      const QPointF a(m.px(s.x[i]), m.py(s.y[i]));
      if (r.contains(a)) ++count;
      if (i + 1 < s.x.size() && m.ok(s.x[i + 1], s.y[i + 1])) {
        const QPointF b(m.px(s.x[i + 1]), m.py(s.y[i + 1]));
        for (int k = 1; k < 8; ++k)
          if (r.contains(a + (b - a) * (k / 8.0))) ++count;
      }
    }
  }
  return count;
}

}  // namespace

void render_lines(const LinePlot& p, Canvas& c, const QRectF& rect, DrawnPoints* drawn) {
  const Style& st = c.style;
  const QFont tick_f = c.font(st.tick_pt), label_f = c.font(st.font_pt), legend_f = c.font(st.font_pt);
  const double tick_len = 2.5, gap = 2.5;
  QRectF r = rect.adjusted(3, 3, -6, -3);  // the right edge needs room for the last x tick label
  r.setTop(r.top() + c.title(p.title, r));

  const auto axes = ps::plot::line_axes(p);
  double ytick_w = 0;
  for (const auto& l : axes.y.labels) ytick_w = std::max(ytick_w, c.width(tick_f, qs(l)));
  const double th = c.height(tick_f), lh = c.height(label_f);

  Legend lg;
  for (const auto& s : p.series) lg.names.push_back(qs(s.name));
  const bool show_legend = !(p.series.size() == 1 && p.series[0].name.empty()) && !p.series.empty();
  lg.row_h = c.height(legend_f) * 1.1;
  lg.swatch = 14;
  for (const auto& n : lg.names) lg.name_w = std::max(lg.name_w, c.width(legend_f, n));

  auto layout = [&](double legend_below_h) {
    Mapper m{r, axes.x, axes.y, p.x.log, p.y.log};
    m.area.setLeft(r.left() + (p.y.label.empty() ? 0 : lh + gap) + ytick_w + gap + tick_len);
    m.area.setBottom(r.bottom() - tick_len - gap - th - (p.x.label.empty() ? 0 : lh + gap) - legend_below_h);
    m.area.setTop(r.top() + th / 2);  // the top y tick label is centred on the edge
    return m;
  };
  Mapper m = layout(0);

  // Legend: inside the first corner that hides nothing, else in rows under the x label.
  QRectF legend_box;
  bool legend_inside = false;
  if (show_legend) {
    const QSizeF b = lg.box();
    const QRectF a = m.area.adjusted(4, 2, -4, -2);
    const QRectF corners[] = {QRectF(a.right() - b.width(), a.top(), b.width(), b.height()),
                              QRectF(a.left(), a.top(), b.width(), b.height()),
                              QRectF(a.right() - b.width(), a.bottom() - b.height(), b.width(), b.height()),
                              QRectF(a.left(), a.bottom() - b.height(), b.width(), b.height())};
    if (b.width() < a.width() * 0.6 && b.height() < a.height() * 0.6) {
      for (const auto& box : corners) {
        if (hidden(p, m, box.adjusted(-2, -2, 2, 2)) == 0) {
          legend_box = box;
          legend_inside = true;
          break;
        }
      }
    }
    if (!legend_inside) {
      const double entry_w = lg.swatch + 3 + lg.name_w + 10;
      const int per_row = std::max(1, int(r.width() / entry_w));
      const int rows = int((lg.names.size() + per_row - 1) / per_row);
      m = layout(rows * lg.row_h + gap);
      legend_box = QRectF(r.left(), r.bottom() - rows * lg.row_h, r.width(), rows * lg.row_h);
    }
  }

  // Grid and axes.
  QPainter& P = c.p;
  P.save();
  P.setRenderHint(QPainter::Antialiasing, true);
  P.setPen(c.pen(QColor(228, 228, 228), 0.4));
  for (double v : axes.y.values) P.drawLine(QPointF(m.area.left(), m.py(v)), QPointF(m.area.right(), m.py(v)));
  P.setPen(c.pen(QColor(40, 40, 40), st.axis_pt));
  P.drawLine(m.area.bottomLeft(), m.area.bottomRight());
  P.drawLine(m.area.bottomLeft(), m.area.topLeft());
  for (size_t i = 0; i < axes.x.values.size(); ++i) {
    const double x = m.px(axes.x.values[i]);
    P.drawLine(QPointF(x, m.area.bottom()), QPointF(x, m.area.bottom() + tick_len));
    c.text(tick_f, qs(axes.x.labels[i]), QPointF(x, m.area.bottom() + tick_len + gap * 0.5), 0.5, 0);
  }
  for (size_t i = 0; i < axes.y.values.size(); ++i) {
    const double y = m.py(axes.y.values[i]);
    P.drawLine(QPointF(m.area.left() - tick_len, y), QPointF(m.area.left(), y));
    c.text(tick_f, qs(axes.y.labels[i]), QPointF(m.area.left() - tick_len - gap, y), 1, 0.5);
  }
  if (!p.x.label.empty())
    c.text(label_f, c.elide(label_f, qs(p.x.label), m.area.width()),
           QPointF(m.area.center().x(), m.area.bottom() + tick_len + gap + th + gap * 0.5), 0.5, 0);
  if (!p.y.label.empty())
    c.text_up(label_f, c.elide(label_f, qs(p.y.label), m.area.height()), QPointF(r.left(), m.area.center().y()), 0,
              0.5);

  // Data, clipped to the axes.
  P.setClipRect(m.area.adjusted(-st.marker_pt, -st.marker_pt, st.marker_pt, st.marker_pt));
  const double slot = p.bars ? bar_slot(p, m) : 0;
  for (size_t k = 0; k < p.series.size(); ++k) {
    const auto& s = p.series[k];
    if (p.bars) {  // no band, line or marker: a bar per point; hover finds it by the middle of its top
      for (size_t i = 0; i < s.x.size(); ++i) {
        if (!m.ok(s.x[i], s.y[i])) continue;
        const QRectF bar = bar_rect(p, m, slot, k, s.x[i], s.y[i]);
        P.fillRect(bar, series_color(k));
        if (drawn) drawn->points.push_back({int(k), int(i), QPointF(bar.center().x(), m.py(s.y[i]))});
      }
      continue;
    }
    QColor band = series_color(k);
    band.setAlphaF(0.18);
    if (s.lo.size() == s.x.size() && s.hi.size() == s.x.size()) {
      QPolygonF poly;
      for (size_t i = 0; i < s.x.size(); ++i)
        if (m.ok(s.x[i], s.lo[i])) poly << QPointF(m.px(s.x[i]), m.py(s.lo[i]));
      for (size_t i = s.x.size(); i-- > 0;)
        if (m.ok(s.x[i], s.hi[i])) poly << QPointF(m.px(s.x[i]), m.py(s.hi[i]));
      P.setPen(Qt::NoPen);
      P.setBrush(band);
      if (poly.size() >= 3) P.drawPolygon(poly);
    }
    // Lines break at missing values rather than bridging them.
    P.setBrush(Qt::NoBrush);
    P.setPen(c.pen(series_color(k), st.line_pt));
    QPainterPath path;
    bool open = false;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!m.ok(s.x[i], s.y[i])) {
        open = false;
        continue;
      }
      const QPointF pt(m.px(s.x[i]), m.py(s.y[i]));
      if (open) path.lineTo(pt); else path.moveTo(pt);
      open = true;
    }
    P.drawPath(path);
    if (drawn)
      for (size_t i = 0; i < s.x.size(); ++i)
        if (m.ok(s.x[i], s.y[i])) drawn->points.push_back({int(k), int(i), QPointF(m.px(s.x[i]), m.py(s.y[i]))});
    if (p.markers)
      for (size_t i = 0; i < s.x.size(); ++i)
        if (m.ok(s.x[i], s.y[i]))
          draw_marker(P, int(k), QPointF(m.px(s.x[i]), m.py(s.y[i])), st.marker_pt, series_color(k));
  }
  P.setClipping(false);

  if (show_legend) {
    if (legend_inside) {
      P.setPen(c.pen(QColor(200, 200, 200), 0.4));
      P.setBrush(QColor(255, 255, 255, 230));
      P.drawRect(legend_box);
    }
    const double entry_w = legend_inside ? legend_box.width() : lg.swatch + 3 + lg.name_w + 10;
    const int per_row = legend_inside ? 1 : std::max(1, int(legend_box.width() / entry_w));
    for (size_t k = 0; k < lg.names.size(); ++k) {
      // Rows under the axes are each centred (the last entry of a row needs no trailing gap).
      const size_t row = k / size_t(per_row), in_row = std::min(size_t(per_row), lg.names.size() - row * per_row);
      const double used = double(in_row) * entry_w - 10;
      const double x0 = legend_inside ? legend_box.left() + 3 : legend_box.center().x() - used / 2;
      const double x = x0 + double(k % size_t(per_row)) * entry_w;
      const double y = legend_box.top() + (legend_inside ? 2 : 0) + (k / per_row + 0.5) * lg.row_h;
      P.setPen(c.pen(series_color(k), st.line_pt));
      if (p.bars) P.fillRect(QRectF(x + lg.swatch / 4, y - lg.row_h * 0.3, lg.swatch / 2, lg.row_h * 0.6), series_color(k));
      else P.drawLine(QPointF(x, y), QPointF(x + lg.swatch, y));
      if (p.markers && !p.bars) draw_marker(P, int(k), QPointF(x + lg.swatch / 2, y), st.marker_pt, series_color(k));
      c.text(legend_f, lg.names[k], QPointF(x + lg.swatch + 3, y), 0, 0.5, QColor(30, 30, 30));
    }
  }
  P.restore();
}

}  // namespace ps::render
