// Gold and recovered trees, side by side or stacked, sharing the leaf row; constituents missing from the
// other tree are boxed in the highlight colour.
#include <QPainterPath>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "analysis/plot/trees.h"
#include "app/render/canvas.h"
#include "app/render/kinds.h"

namespace ps::render {

namespace {

using ps::plot::PlotTree;

const QColor kHighlight(213, 94, 0), kHighlightFill(253, 226, 208), kText(30, 30, 30), kEdge(150, 150, 150);
constexpr double kMinPt = 4.5, kPad = 2.5;

// Largest font size (<= base) at which neighbouring labels of each row do not overlap.
double fit_pt(Canvas& c, const PlotTree& t, bool leaves, double u, double base, bool mono) {
  const QFont f = c.font(base, false, mono);
  std::map<int, std::vector<std::pair<double, double>>> rows;  // depth -> (x, width at base)
  for (const auto& n : t.nodes)
    if (n.leaf == leaves) rows[n.depth].emplace_back(n.x, c.width(f, qs(n.label)));
  double pt = base;
  for (auto& [d, v] : rows) {
    std::sort(v.begin(), v.end());
    for (size_t i = 0; i + 1 < v.size(); ++i) {
      const double need = (v[i].second + v[i + 1].second) / 2, room = (v[i + 1].first - v[i].first) * u - kPad;
      if (need > 0) pt = std::min(pt, base * room / need);
    }
  }
  return std::max(kMinPt, pt);
}

// Width each node's label may take: up to half-way to its nearest neighbour on the same row.
std::vector<double> room(const PlotTree& t, double u, double full) {
  std::map<int, std::vector<std::pair<double, int>>> rows;
  for (size_t i = 0; i < t.nodes.size(); ++i) rows[t.nodes[i].depth].emplace_back(t.nodes[i].x, int(i));
  std::vector<double> out(t.nodes.size(), full);
  for (auto& [d, v] : rows) {
    std::sort(v.begin(), v.end());
    for (size_t i = 0; i < v.size(); ++i) {
      double gap = INFINITY;
      if (i > 0) gap = std::min(gap, v[i].first - v[i - 1].first);
      if (i + 1 < v.size()) gap = std::min(gap, v[i + 1].first - v[i].first);
      if (std::isfinite(gap)) out[size_t(v[i].second)] = std::max(0.0, gap * u - kPad);
    }
  }
  return out;
}

void draw_tree(Canvas& c, const PlotTree& t, int rows, const QRectF& region, const QString& subtitle) {
  const Style& st = c.style;
  const QFont sub_f = c.font(st.font_pt, true);
  c.text(sub_f, c.elide(sub_f, subtitle, region.width()), QPointF(region.center().x(), region.top()), 0.5, 0);
  const double top = region.top() + c.height(sub_f) * 1.3;
  const int leaves = ps::plot::num_leaves(t);
  if (leaves == 0) return;
  const double u = region.width() / leaves;
  const double node_pt = fit_pt(c, t, false, u, st.tick_pt, false);
  double leaf_pt = fit_pt(c, t, true, u, st.tick_pt, true);
  const QFont node_f = c.font(node_pt), leaf_f_h = c.font(leaf_pt, false, true);
  // Leaves that do not fit side by side even at the minimum size are written vertically.
  bool vertical = false;
  for (size_t i = 0; i < t.nodes.size() && !vertical; ++i)
    if (t.nodes[i].leaf && c.width(leaf_f_h, qs(t.nodes[i].label)) > u - kPad * 0.5) vertical = true;
  const QFont leaf_f = vertical ? c.font(std::min(st.tick_pt, std::max(kMinPt, u * 0.8)), false, true) : leaf_f_h;
  double leaf_h = c.height(leaf_f) * 1.6;
  if (vertical) {
    double w = 0;
    for (const auto& n : t.nodes)
      if (n.leaf) w = std::max(w, c.width(leaf_f, qs(n.label)));
    leaf_h = std::min(w, (region.bottom() - top) * 0.35) + 4;
  }
  const double row_h = rows > 1 ? (region.bottom() - top - leaf_h) / (rows - 1) : 0;
  const double nh = c.height(node_f);
  auto px = [&](const ps::plot::PlotTreeNode& n) { return region.left() + (n.x + 0.5) * u; };
  auto py = [&](const ps::plot::PlotTreeNode& n) {
    return n.leaf ? region.bottom() - leaf_h + 2 : top + (n.depth + 0.5) * row_h;  // leaves: top of the label
  };
  QPainter& P = c.p;
  P.save();
  P.setRenderHint(QPainter::Antialiasing, true);
  P.setPen(c.pen(kEdge, 0.5));
  for (const auto& n : t.nodes)
    for (int k : n.children) {
      const auto& ch = t.nodes[size_t(k)];
      P.drawLine(QPointF(px(n), py(n) + nh / 2 + 0.8), QPointF(px(ch), ch.leaf ? py(ch) - 0.8 : py(ch) - nh / 2 - 0.8));
    }
  const auto space = room(t, u, region.width());
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    const auto& n = t.nodes[i];
    if (n.leaf) {
      if (vertical)
        c.text_up(leaf_f, c.elide(leaf_f, qs(n.label), leaf_h - 3), QPointF(px(n), py(n)), 0.5, 0, kText);
      else
        c.text(leaf_f, c.elide(leaf_f, qs(n.label), std::max(u, space[i]) - 1), QPointF(px(n), py(n)), 0.5, 0, kText);
      continue;
    }
    const QString label = c.elide(node_f, qs(n.label), space[i]);
    // Every label sits on a filled box so edges passing behind never cross its text.
    const double w = c.width(node_f, label) + 2.4;
    if (n.matched) P.setPen(Qt::NoPen); else P.setPen(c.pen(kHighlight, 0.6));
    P.setBrush(n.matched ? QColor(Qt::white) : kHighlightFill);
    P.drawRoundedRect(QRectF(px(n) - w / 2, py(n) - nh / 2 - 0.4, w, nh + 0.8), 1.5, 1.5);
    c.text(node_f, label, QPointF(px(n), py(n)), 0.5, 0.5, n.matched ? kText : QColor(150, 50, 0));
  }
  P.restore();
}

}  // namespace

void render_trees(const ps::plot::TreePair& t, Canvas& c, const QRectF& rect) {
  QRectF r = rect.adjusted(3, 3, -3, -3);
  r.setTop(r.top() + c.title(t.title, r));
  const QFont key_f = c.font(c.style.tick_pt);
  const double key_h = c.height(key_f) * 1.4;
  r.setBottom(r.bottom() - key_h);
  const auto s = ps::plot::tree_scores(t);
  char buf[160];
  std::snprintf(buf, sizeof buf, " \u2014 %d of %d constituents in gold (F1 %.2f)", s.matched, s.predicted, s.f1());
  const QString gold_sub = qs(t.gold_title) + qs(" \u2014 " + std::to_string(s.gold) + " constituents");
  const QString pred_sub = qs(t.predicted_title) + qs(buf);
  const int rows = ps::plot::tree_rows(t);
  const bool stacked = ps::plot::resolve_arrangement(t, rect.width() / 72.0) == ps::plot::TreeArrangement::stacked;
  if (stacked) {
    const double h = (r.height() - 8) / 2;
    draw_tree(c, t.gold, rows, QRectF(r.left(), r.top(), r.width(), h), gold_sub);
    draw_tree(c, t.predicted, rows, QRectF(r.left(), r.top() + h + 8, r.width(), h), pred_sub);
  } else {
    const double w = (r.width() - 12) / 2;
    draw_tree(c, t.gold, rows, QRectF(r.left(), r.top(), w, r.height()), gold_sub);
    draw_tree(c, t.predicted, rows, QRectF(r.left() + w + 12, r.top(), w, r.height()), pred_sub);
    c.p.save();
    c.p.setPen(c.pen(QColor(210, 210, 210), 0.5));
    c.p.drawLine(QPointF(r.left() + w + 6, r.top()), QPointF(r.left() + w + 6, r.bottom()));
    c.p.restore();
  }
  // Key for the highlight.
  const QString key = qs("constituent absent from the other tree");
  const double kw = c.width(key_f, key) + 12;
  const QPointF at(r.center().x() - kw / 2, r.bottom() + key_h * 0.55);
  c.p.save();
  c.p.setRenderHint(QPainter::Antialiasing, true);
  c.p.setPen(c.pen(kHighlight, 0.6));
  c.p.setBrush(kHighlightFill);
  c.p.drawRoundedRect(QRectF(at.x(), at.y() - 3, 8, 6), 1.5, 1.5);
  c.p.restore();
  c.text(key_f, key, QPointF(at.x() + 12, at.y()), 0, 0.5, kText);
}

}  // namespace ps::render
