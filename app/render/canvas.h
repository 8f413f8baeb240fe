#pragma once
// Internal drawing helpers shared by the figure kinds: fonts sized in figure units on any device,
// text measuring and placement, the series palette and the colour map.
#include <QColor>
#include <QFont>
#include <QPainter>
#include <QRectF>
#include <QString>
#include <QStringList>
#include <string>

#include "app/render/render.h"

namespace ps::render {

class Canvas {
 public:
  Canvas(QPainter& p, const Style& s);
  QPainter& p;
  const Style& style;

  QFont font(double pt, bool bold = false, bool mono = false) const;
  double width(const QFont& f, const QString& text) const;
  double height(const QFont& f) const;  // line height (ascent + descent)
  double ascent(const QFont& f) const;

  // Text placed relative to an anchor point: h = 0 left, 0.5 centre, 1 right; v likewise (0 top).
  void text(const QFont& f, const QString& s, QPointF at, double h, double v, const QColor& c = Qt::black);
  // The same, rotated 90 degrees counter-clockwise (reading bottom to top) around the anchor.
  void text_up(const QFont& f, const QString& s, QPointF at, double h, double v, const QColor& c = Qt::black);
  // Cut with "…" to at most max_width.
  QString elide(const QFont& f, const QString& s, double max_width) const;
  // Greedy word wrap into at most max_lines lines of max_width (the last one elided).
  QStringList wrap(const QFont& f, const QString& s, double max_width, int max_lines) const;
  // The figure title centred at the top of r (wrapped to two lines at most); returns the height used.
  double title(const std::string& t, const QRectF& r);

  QPen pen(const QColor& c, double width_pt) const;

 private:
  double dpi_;
};

QString qs(const std::string& s);

// Okabe–Ito colour-blind-safe palette, yellow last (weak on white).
QColor series_color(size_t i);
// Perceptually uniform, colour-blind-safe map (viridis) at t in [0, 1].
QColor viridis(double t);

// Marker shapes cycle with the series so lines stay distinguishable in greyscale print.
void draw_marker(QPainter& p, int shape, QPointF at, double size, const QColor& c);

}  // namespace ps::render
