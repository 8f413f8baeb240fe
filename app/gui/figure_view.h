#pragma once
// Any plot spec drawn live with the same renderer as `probescope plot` (ps::render::render), inside a
// scroll area: Ctrl+wheel (or setZoom) zooms for long inputs, hovering a line-plot point shows its
// values, clicking one emits pointClicked.
#include <QScrollArea>
#include <QWidget>
#include <optional>

#include "analysis/plot/figure.h"
#include "app/render/render.h"

namespace ps::gui {

class FigureView : public QWidget {
  Q_OBJECT
 public:
  explicit FigureView(QWidget* parent = nullptr);
  // nullopt: show `placeholder` (why there is nothing to draw) instead.
  void setFigure(std::optional<ps::plot::FigureSpec> spec, const QString& placeholder = {});
  const ps::plot::FigureSpec* figure() const { return spec_ ? &*spec_ : nullptr; }
  const QString& placeholder() const { return placeholder_; }

  // Figure units (points) per widget pixel: fonts are sized in points, scaled up for the screen.
  double scale() const;
  // The line-plot point drawn nearest to a widget position (within 8 px), and its tooltip text.
  const ps::render::DrawnPoint* pointAt(QPoint pos) const;
  QString pointText(const ps::render::DrawnPoint& p) const;
  // Where point (series, index) was drawn, in widget pixels (tests click there); (-1,-1) if not drawn.
  QPoint pointPosition(int series, int index) const;
  // Heatmaps: the hover text of the cell under a widget position ("" off the cells): row and column labels
  // and the value, read from the spec; cellPosition is where cell (row, col) was drawn (tests hover there).
  QString cellText(QPoint pos) const;
  QPoint cellPosition(int64_t row, int64_t col) const;
  QSize sizeHint() const override { return {480, 320}; }

 Q_SIGNALS:
  void pointClicked(int series, int index, double x, double y);
  void zoomBy(double factor);

 protected:
  void paintEvent(QPaintEvent*) override;
  void mouseMoveEvent(QMouseEvent*) override;
  void mousePressEvent(QMouseEvent*) override;
  void wheelEvent(QWheelEvent*) override;

 private:
  std::optional<ps::plot::FigureSpec> spec_;
  QString placeholder_;
  ps::render::DrawnPoints drawn_;  // from the last paint, in figure units
};

// A FigureView in a scroll area; zoom 1 fits the view, above 1 it grows and scrolls.
class FigurePanel : public QScrollArea {
  Q_OBJECT
 public:
  explicit FigurePanel(QWidget* parent = nullptr);
  FigureView* view() const { return view_; }
  double zoom() const { return zoom_; }
  void setZoom(double z);  // clamped to 1..16

 protected:
  void resizeEvent(QResizeEvent*) override;

 private:
  void apply();
  FigureView* view_;
  double zoom_ = 1;
};

}  // namespace ps::gui
