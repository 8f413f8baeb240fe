#include "app/render/canvas.h"

#include <QFontMetricsF>
#include <QPaintDevice>
#include <QPainterPath>
#include <QPolygonF>
#include <algorithm>
#include <cmath>

namespace ps::render {

Canvas::Canvas(QPainter& painter, const Style& s) : p(painter), style(s) {
  dpi_ = painter.device() ? painter.device()->logicalDpiY() : 72;
  if (dpi_ <= 0) dpi_ = 72;
}

QFont Canvas::font(double pt, bool bold, bool mono) const {
  QFont f(mono ? style.mono_family : style.font_family);
  f.setStyleHint(mono ? QFont::Monospace : QFont::SansSerif);
  // A point size is converted with the device's DPI; scale it so `pt` is pt logical units.
  f.setPointSizeF(pt * 72.0 / dpi_);
  f.setBold(bold);
  // Unhinted metrics scale linearly, so PDF, SVG and PNG lay out identically.
  f.setHintingPreference(QFont::PreferNoHinting);
  return f;
}

double Canvas::width(const QFont& f, const QString& text) const {
  return QFontMetricsF(f, p.device()).horizontalAdvance(text);
}
double Canvas::height(const QFont& f) const {
  QFontMetricsF m(f, p.device());
  return m.ascent() + m.descent();
}
double Canvas::ascent(const QFont& f) const { return QFontMetricsF(f, p.device()).ascent(); }

void Canvas::text(const QFont& f, const QString& s, QPointF at, double h, double v, const QColor& c) {
  if (s.isEmpty()) return;
  const double w = width(f, s), ht = height(f);
  p.save();
  p.setFont(f);
  p.setPen(c);
  p.drawText(QPointF(at.x() - h * w, at.y() - v * ht + ascent(f)), s);
  p.restore();
}

void Canvas::text_up(const QFont& f, const QString& s, QPointF at, double h, double v, const QColor& c) {
  if (s.isEmpty()) return;
  p.save();
  p.translate(at);
  p.rotate(-90);
  // In the rotated frame the text runs along +x (up on the page); h and v keep their page meaning:
  // h = horizontal on the page = the text's vertical extent, v = vertical on the page = along the text.
  const double w = width(f, s), ht = height(f);
  p.setFont(f);
  p.setPen(c);
  p.drawText(QPointF(-(1 - v) * w, -h * ht + ascent(f)), s);
  p.restore();
}

QString Canvas::elide(const QFont& f, const QString& s, double max_width) const {
  if (width(f, s) <= max_width) return s;
  return QFontMetricsF(f, p.device()).elidedText(s, Qt::ElideRight, std::max(0.0, max_width));
}

QStringList Canvas::wrap(const QFont& f, const QString& s, double max_width, int max_lines) const {
  QStringList lines;
  QString line;
  const QStringList words = s.split(' ', Qt::SkipEmptyParts);
  for (int i = 0; i < words.size(); ++i) {
    const QString next = line.isEmpty() ? words[i] : line + ' ' + words[i];
    if (line.isEmpty() || width(f, next) <= max_width) {
      line = next;
      continue;
    }
    if (int(lines.size()) + 1 == max_lines) {
      line += ' ' + words.mid(i).join(' ');  // the rest, elided below
      break;
    }
    lines << line;
    line = words[i];
  }
  if (!line.isEmpty()) lines << line;
  for (auto& l : lines) l = elide(f, l, max_width);
  return lines;
}

double Canvas::title(const std::string& t, const QRectF& r) {
  if (t.empty()) return 0;
  const QFont f = font(style.title_pt, true);
  const QStringList lines = wrap(f, qs(t), r.width(), 2);  // long titles wrap once, then elide
  for (int i = 0; i < lines.size(); ++i)
    text(f, lines[i], QPointF(r.center().x(), r.top() + i * height(f)), 0.5, 0);
  return height(f) * (lines.size() + 0.35);
}

QPen Canvas::pen(const QColor& c, double width_pt) const {
  QPen pen(c, width_pt);
  pen.setCapStyle(Qt::FlatCap);
  pen.setJoinStyle(Qt::RoundJoin);
  return pen;
}

QString qs(const std::string& s) { return QString::fromUtf8(s.data(), qsizetype(s.size())); }

QColor series_color(size_t i) {
  static const QColor colors[] = {QColor(0, 114, 178), QColor(213, 94, 0),   QColor(0, 158, 115),
                                  QColor(204, 121, 167), QColor(230, 159, 0), QColor(86, 180, 233),
                                  QColor(0, 0, 0),       QColor(240, 228, 66)};
  return colors[i % (sizeof colors / sizeof colors[0])];
}

QColor viridis(double t) {
  // matplotlib's viridis sampled at 9 evenly spaced points; linear in between.
  static const double v[9][3] = {{0.267, 0.005, 0.329}, {0.279, 0.175, 0.483}, {0.230, 0.322, 0.546},
                                 {0.173, 0.449, 0.558}, {0.128, 0.567, 0.551}, {0.153, 0.683, 0.502},
                                 {0.369, 0.789, 0.383}, {0.678, 0.864, 0.190}, {0.993, 0.906, 0.144}};
  if (!std::isfinite(t)) return QColor(200, 200, 200);
  t = std::clamp(t, 0.0, 1.0) * 8;
  const int i = std::min(7, int(t));
  const double f = t - i;
  auto mix = [&](int c) { return int(std::lround(255 * (v[i][c] + f * (v[i + 1][c] - v[i][c])))); };
  return QColor(mix(0), mix(1), mix(2));
}

void draw_marker(QPainter& p, int shape, QPointF c, double size, const QColor& col) {
  p.save();
  p.setPen(QPen(Qt::white, size * 0.18));
  p.setBrush(col);
  const double r = size / 2;
  switch (shape % 5) {
    case 0: p.drawEllipse(c, r, r); break;
    case 1: p.drawRect(QRectF(c.x() - r * 0.9, c.y() - r * 0.9, 1.8 * r, 1.8 * r)); break;
    case 2: p.drawPolygon(QPolygonF({c + QPointF(0, -1.15 * r), c + QPointF(r, 0.75 * r), c + QPointF(-r, 0.75 * r)})); break;
    case 3: p.drawPolygon(QPolygonF({c + QPointF(0, -1.2 * r), c + QPointF(r, 0), c + QPointF(0, 1.2 * r), c + QPointF(-r, 0)})); break;
    default: p.drawPolygon(QPolygonF({c + QPointF(0, 1.15 * r), c + QPointF(r, -0.75 * r), c + QPointF(-r, -0.75 * r)})); break;
  }
  p.restore();
}

}  // namespace ps::render
