// Heatmaps (attention patterns, any matrix) with thinned token labels and a colour bar, and boolean
// attention-mask panels.
#include <QImage>
#include <algorithm>
#include <cmath>

#include "analysis/plot/ticks.h"
#include "app/render/canvas.h"
#include "app/render/kinds.h"

namespace ps::render {

namespace {

// Draws an image pixel-exact: upscaled by an integer factor first so viewers that smooth images
// (PDF readers) still show sharp cells.
void draw_cells_image(QPainter& p, const QImage& img, const QRectF& target) {
  const int factor = std::max(1, 1024 / std::max(img.width(), img.height()));
  const QImage big = img.scaled(img.width() * factor, img.height() * factor, Qt::IgnoreAspectRatio, Qt::FastTransformation);
  p.save();
  p.setRenderHint(QPainter::SmoothPixmapTransform, false);
  p.drawImage(target, big);
  p.restore();
}

// Labels along one axis: every stride-th label, or numeric ticks when there are no labels.
struct AxisLabels {
  std::vector<int64_t> at;
  std::vector<QString> text;
  double extent = 0;  // widest label shown
};
AxisLabels axis_labels(Canvas& c, const QFont& f, const std::vector<std::string>& labels, int64_t n, int64_t stride,
                       double max_w) {
  AxisLabels a;
  if (!labels.empty()) {
    for (int64_t i = 0; i < n; i += stride) {
      a.at.push_back(i);
      a.text.push_back(c.elide(f, qs(labels[size_t(i)]), max_w));
    }
  } else {
    const auto t = ps::plot::linear_ticks(0, double(n - 1), 6, true, 0);
    for (size_t i = 0; i < t.values.size(); ++i) {
      a.at.push_back(int64_t(t.values[i]));
      a.text.push_back(qs(t.labels[i]));
    }
  }
  for (const auto& t : a.text) a.extent = std::max(a.extent, c.width(f, t));
  return a;
}

}  // namespace

void render_heatmap(const ps::plot::Heatmap& h, Canvas& c, const QRectF& rect, DrawnPoints* drawn) {
  const Style& st = c.style;
  QRectF r = rect.adjusted(3, 3, -3, -3);
  r.setTop(r.top() + c.title(h.title, r));
  if (h.rows <= 0 || h.cols <= 0) return;
  const bool labelled = !h.row_labels.empty() || !h.col_labels.empty();
  const QFont lab_f = c.font(st.tick_pt * 0.92, false, labelled);
  const QFont tick_f = c.font(st.tick_pt), axis_f = c.font(st.font_pt);
  const QFont& row_f = h.row_labels.empty() ? tick_f : lab_f;
  const QFont& col_f = h.col_labels.empty() ? tick_f : lab_f;
  const double gap = 2.5, tick_len = 2, bar_w = 6, ah = c.height(axis_f);
  const double cap = std::max(30.0, r.width() * 0.2);  // longest label shown, before eliding

  const ps::plot::Range range = ps::plot::color_range(h);
  const auto bar_ticks = ps::plot::linear_ticks(range.lo, range.hi, 5, false, 0);
  double bar_label_w = 0;
  for (const auto& l : bar_ticks.labels) bar_label_w = std::max(bar_label_w, c.width(tick_f, qs(l)));
  const double right = 8 + bar_w + tick_len + gap + bar_label_w + (h.value_label.empty() ? 0 : gap + ah);
  // Cells are square; the label margins depend on which labels fit, which depends on the cell size.
  // Pass 1 sizes cells with every label (the smallest cells), which fixes the thinning stride; pass 2
  // sizes the margins from the labels actually shown.
  auto cell_for = [&](double row_w, double col_h) {
    const double left = (h.y_label.empty() ? 0 : ah + gap) + row_w + gap + tick_len;
    const double bottom = tick_len + gap + col_h + (h.x_label.empty() ? 0 : gap + ah);
    return std::min((r.width() - left - right) / h.cols, (r.height() - bottom) / h.rows);
  };
  const auto all_rows = axis_labels(c, row_f, h.row_labels, h.rows, 1, cap);
  const auto all_cols = axis_labels(c, col_f, h.col_labels, h.cols, 1, cap);
  const double cell0 = cell_for(all_rows.extent, h.col_labels.empty() ? c.height(tick_f) : all_cols.extent);
  if (cell0 <= 0) return;
  const double line = c.height(lab_f) * 1.05;
  const auto rows = axis_labels(c, row_f, h.row_labels, h.rows, ps::plot::label_stride(cell0, line), cap);
  const auto cols = axis_labels(c, col_f, h.col_labels, h.cols, ps::plot::label_stride(cell0, line), cap);
  const double row_w = rows.extent, col_h = h.col_labels.empty() ? c.height(tick_f) : cols.extent;
  const double cell = cell_for(row_w, col_h);
  const double left = (h.y_label.empty() ? 0 : ah + gap) + row_w + gap + tick_len;
  const double x0 = r.left() + (r.width() - (left + cell * h.cols + right)) / 2 + left;
  const QRectF mat(x0, r.top(), cell * h.cols, cell * h.rows);
  if (drawn) drawn->heatmap = mat, drawn->heatmap_rows = h.rows, drawn->heatmap_cols = h.cols;

  auto norm = [&](double v) { return (v - range.lo) / (range.hi - range.lo); };
  QPainter& P = c.p;
  P.save();
  // One image for all cells: vector rectangles leave hairline seams in PDF viewers, and files stay small.
  QImage img(int(h.cols), int(h.rows), QImage::Format_RGB32);
  for (int64_t i = 0; i < h.rows; ++i)
    for (int64_t j = 0; j < h.cols; ++j)
      img.setPixelColor(int(j), int(i), viridis(norm(h.values[size_t(i * h.cols + j)])));
  draw_cells_image(P, img, mat);
  P.setRenderHint(QPainter::Antialiasing, true);
  // Cell texts (the logit lens's top token) only where a cell holds a readable line: dark on light cells.
  const QFont cell_f = c.font(st.tick_pt * 0.85, false, true);
  if (h.cell_labels.size() == size_t(h.rows * h.cols) && cell >= c.height(cell_f) * 1.1)
    for (int64_t i = 0; i < h.rows; ++i)
      for (int64_t j = 0; j < h.cols; ++j) {
        const size_t at = size_t(i * h.cols + j);
        const QString t = c.elide(cell_f, qs(h.cell_labels[at]), cell - 1);
        const QColor ink = norm(h.values[at]) > 0.6 ? Qt::black : Qt::white;
        c.text(cell_f, t, QPointF(mat.left() + (j + 0.5) * cell, mat.top() + (i + 0.5) * cell), 0.5, 0.5, ink);
      }
  P.setPen(c.pen(QColor(40, 40, 40), st.axis_pt));
  P.setBrush(Qt::NoBrush);
  P.drawRect(mat);

  for (size_t k = 0; k < rows.at.size(); ++k) {
    const double y = mat.top() + (rows.at[k] + 0.5) * cell;
    P.drawLine(QPointF(mat.left() - tick_len, y), QPointF(mat.left(), y));
    c.text(row_f, rows.text[k], QPointF(mat.left() - tick_len - gap, y), 1, 0.5);
  }
  for (size_t k = 0; k < cols.at.size(); ++k) {
    const double x = mat.left() + (cols.at[k] + 0.5) * cell;
    P.drawLine(QPointF(x, mat.bottom()), QPointF(x, mat.bottom() + tick_len));
    const QPointF at(x, mat.bottom() + tick_len + gap);
    if (h.col_labels.empty())
      c.text(tick_f, cols.text[k], at, 0.5, 0);
    else
      c.text_up(lab_f, cols.text[k], at, 0.5, 0);  // vertical, reading upwards, top at the axis
  }
  if (!h.x_label.empty())
    c.text(axis_f, qs(h.x_label), QPointF(mat.center().x(), mat.bottom() + tick_len + gap + col_h + gap), 0.5, 0);
  if (!h.y_label.empty())
    c.text_up(axis_f, qs(h.y_label), QPointF(mat.left() - left, mat.center().y()), 0, 0.5);

  // Colour bar: a vertical gradient image with ticks on its right.
  const QRectF bar(mat.right() + 8, mat.top(), bar_w, mat.height());
  QImage grad(1, 256, QImage::Format_RGB32);
  for (int k = 0; k < 256; ++k) grad.setPixelColor(0, k, viridis(1.0 - k / 255.0));
  P.save();
  P.setRenderHint(QPainter::SmoothPixmapTransform, true);
  P.drawImage(bar, grad);
  P.restore();
  P.drawRect(bar);
  for (size_t k = 0; k < bar_ticks.values.size(); ++k) {
    const double y = bar.bottom() - norm(bar_ticks.values[k]) * bar.height();
    P.drawLine(QPointF(bar.right(), y), QPointF(bar.right() + tick_len, y));
    c.text(tick_f, qs(bar_ticks.labels[k]), QPointF(bar.right() + tick_len + gap, y), 0, 0.5);
  }
  if (!h.value_label.empty())
    c.text_up(axis_f, qs(h.value_label), QPointF(bar.right() + tick_len + gap + bar_label_w + gap, bar.center().y()),
              0, 0.5);
  P.restore();
}

void render_masks(const ps::plot::MaskFigure& m, Canvas& c, const QRectF& rect) {
  const Style& st = c.style;
  QRectF r = rect.adjusted(3, 3, -3, -3);
  r.setTop(r.top() + c.title(m.title, r));
  if (m.panels.empty()) return;
  const ps::plot::Grid g = ps::plot::mask_grid(m);
  const QFont title_f = c.font(st.font_pt), tick_f = c.font(st.tick_pt), axis_f = c.font(st.font_pt);
  const double gap = 2.5, tick_len = 2, ah = c.height(axis_f), th = c.height(tick_f);
  int64_t nmax = 1;
  for (const auto& p : m.panels) nmax = std::max(nmax, p.n);
  const double tick_w = c.width(tick_f, QString::number(nmax - 1));
  // Room: "query i" once on the left, "key j" once at the bottom, two title lines per panel.
  const double left = ah + gap, bottom = ah + gap, title_h = 2 * c.height(title_f) + gap;
  const double pw = (r.width() - left) / g.columns, ph = (r.height() - bottom) / g.rows;
  const double side = std::max(1.0, std::min(pw - tick_w - tick_len - 2 * gap - 4, ph - title_h - th - tick_len - 2 * gap));
  QPainter& P = c.p;
  P.save();
  for (size_t k = 0; k < m.panels.size(); ++k) {
    const auto& p = m.panels[k];
    const int col = int(k) % g.columns, row = int(k) / g.columns;
    const double cx = r.left() + left + (col + 0.5) * pw + (tick_w + tick_len + gap) / 2;
    const QRectF mat(cx - side / 2, r.top() + row * ph + title_h, side, side);
    const QStringList lines = c.wrap(title_f, qs(p.title), pw - 4, 2);
    for (int l = 0; l < lines.size(); ++l)
      c.text(title_f, lines[l], QPointF(mat.center().x(), mat.top() - title_h + (2 - lines.size() + l) * c.height(title_f)), 0.5, 0);
    if (p.n <= 0) continue;
    const double cell = side / p.n;
    P.setRenderHint(QPainter::Antialiasing, false);
    P.setPen(Qt::NoPen);
    P.setBrush(QColor(236, 236, 236));
    P.drawRect(mat);
    P.setBrush(QColor(31, 78, 140));
    for (int64_t i = 0; i < p.n; ++i)  // runs of allowed keys as one rectangle each
      for (int64_t j = 0; j < p.n;) {
        if (!p.allowed[size_t(i * p.n + j)]) { ++j; continue; }
        int64_t e = j;
        while (e < p.n && p.allowed[size_t(i * p.n + e)]) ++e;
        P.drawRect(QRectF(mat.left() + j * cell, mat.top() + i * cell, (e - j) * cell, cell));
        j = e;
      }
    if (!p.capped.empty()) {  // keys scored at the capped distance (LM-Infinite's global branch), amber
      P.setBrush(QColor(230, 159, 0));
      for (int64_t i = 0; i < p.n; ++i)
        for (int64_t j = 0; j < p.n; ++j)
          if (p.capped[size_t(i * p.n + j)]) P.drawRect(QRectF(mat.left() + j * cell, mat.top() + i * cell, cell, cell));
    }
    P.setRenderHint(QPainter::Antialiasing, true);
    if (cell >= 3) {  // cell grid, only where cells are big enough to read
      P.setPen(c.pen(Qt::white, 0.25));
      for (int64_t i = 1; i < p.n; ++i) {
        P.drawLine(QPointF(mat.left() + i * cell, mat.top()), QPointF(mat.left() + i * cell, mat.bottom()));
        P.drawLine(QPointF(mat.left(), mat.top() + i * cell), QPointF(mat.right(), mat.top() + i * cell));
      }
    }
    P.setPen(c.pen(QColor(213, 94, 0), 0.7));
    for (int64_t s : p.segment_starts) {
      P.drawLine(QPointF(mat.left() + s * cell, mat.top()), QPointF(mat.left() + s * cell, mat.bottom()));
      P.drawLine(QPointF(mat.left(), mat.top() + s * cell), QPointF(mat.right(), mat.top() + s * cell));
    }
    P.setPen(c.pen(QColor(40, 40, 40), st.axis_pt));
    P.setBrush(Qt::NoBrush);
    P.drawRect(mat);
    const auto t = ps::plot::linear_ticks(0, double(p.n - 1), 4, true, 0);
    for (size_t i = 0; i < t.values.size(); ++i) {
      const double at = (t.values[i] + 0.5) * cell;
      P.drawLine(QPointF(mat.left() + at, mat.bottom()), QPointF(mat.left() + at, mat.bottom() + tick_len));
      c.text(tick_f, qs(t.labels[i]), QPointF(mat.left() + at, mat.bottom() + tick_len + 1), 0.5, 0);
      P.drawLine(QPointF(mat.left() - tick_len, mat.top() + at), QPointF(mat.left(), mat.top() + at));
      c.text(tick_f, qs(t.labels[i]), QPointF(mat.left() - tick_len - 1, mat.top() + at), 1, 0.5);
    }
    if (row == g.rows - 1 || k + g.columns >= m.panels.size())
      c.text(axis_f, "key j", QPointF(mat.center().x(), mat.bottom() + tick_len + th + gap), 0.5, 0);
    if (col == 0) c.text_up(axis_f, "query i", QPointF(r.left(), mat.center().y()), 0, 0.5);
  }
  P.restore();
}

}  // namespace ps::render
