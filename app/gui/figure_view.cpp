#include "app/gui/figure_view.h"

#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>
#include <QWheelEvent>
#include <algorithm>

#include "analysis/plot/export.h"

namespace ps::gui {

FigureView::FigureView(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
  setAttribute(Qt::WA_OpaquePaintEvent);
}

void FigureView::setFigure(std::optional<ps::plot::FigureSpec> spec, const QString& placeholder) {
  spec_ = std::move(spec);
  placeholder_ = placeholder;
  drawn_ = {};
  update();
}

// Publication fonts (7.5 pt) are small on screen: draw one figure point as 1.6 logical pixels at 96 dpi.
double FigureView::scale() const { return std::max(1.0, logicalDpiX() / 72.0) * 1.2; }

void FigureView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), Qt::white);
  if (!spec_) {
    p.setPen(QColor(110, 110, 110));
    p.drawText(rect().adjusted(12, 12, -12, -12), Qt::AlignCenter | Qt::TextWordWrap, placeholder_);
    return;
  }
  const double s = scale();
  p.scale(s, s);
  ps::render::render(*spec_, p, QRectF(0, 0, width() / s, height() / s), {}, &drawn_);
}

const ps::render::DrawnPoint* FigureView::pointAt(QPoint pos) const {
  const double s = scale();
  return ps::render::nearest_point(drawn_, QPointF(pos) / s, 8 / s);
}

QString FigureView::pointText(const ps::render::DrawnPoint& d) const {
  const auto* lp = spec_ ? std::get_if<ps::plot::LinePlot>(&*spec_) : nullptr;
  if (!lp || d.series >= int(lp->series.size())) return {};
  const auto& s = lp->series[size_t(d.series)];
  auto num = [](double v) { return QString::fromStdString(ps::plot::number_text(v)); };
  QString t = QString::fromStdString(s.name.empty() ? "" : s.name + "\n");
  t += QString::fromStdString(lp->x.label) + " = " + num(s.x[size_t(d.index)]) + "\n" +
       QString::fromStdString(lp->y.label) + " = " + num(s.y[size_t(d.index)]);
  if (s.lo.size() == s.x.size() && s.hi.size() == s.x.size())
    t += "  [" + num(s.lo[size_t(d.index)]) + ", " + num(s.hi[size_t(d.index)]) + "]";
  return t;
}

QPoint FigureView::pointPosition(int series, int index) const {
  const double s = scale();
  for (const auto& d : drawn_.points)
    if (d.series == series && d.index == index) return (d.at * s).toPoint();
  return {-1, -1};
}

QString FigureView::cellText(QPoint pos) const {
  const auto* h = spec_ ? std::get_if<ps::plot::Heatmap>(&*spec_) : nullptr;
  const QRectF& m = drawn_.heatmap;
  const QPointF at = QPointF(pos) / scale();
  if (!h || m.isEmpty() || !m.contains(at) || drawn_.heatmap_rows != h->rows || drawn_.heatmap_cols != h->cols) return {};
  const int64_t i = std::min<int64_t>(h->rows - 1, int64_t((at.y() - m.top()) / m.height() * double(h->rows)));
  const int64_t j = std::min<int64_t>(h->cols - 1, int64_t((at.x() - m.left()) / m.width() * double(h->cols)));
  auto label = [](const std::vector<std::string>& v, int64_t k) {
    return size_t(k) < v.size() ? QString(" %1").arg(QString::fromStdString(v[size_t(k)])) : QString();
  };
  QString t = QString("%1 %2%3\n%4 %5%6\n%7 = %8")
                  .arg(QString::fromStdString(h->y_label.empty() ? "row" : h->y_label)).arg(i).arg(label(h->row_labels, i))
                  .arg(QString::fromStdString(h->x_label.empty() ? "column" : h->x_label)).arg(j).arg(label(h->col_labels, j))
                  .arg(QString::fromStdString(h->value_label.empty() ? "value" : h->value_label))
                  .arg(QString::fromStdString(ps::plot::number_text(h->values[size_t(i * h->cols + j)])));
  if (h->cell_labels.size() == h->values.size()) t += "\n" + QString::fromStdString(h->cell_labels[size_t(i * h->cols + j)]);
  return t;
}

QPoint FigureView::cellPosition(int64_t row, int64_t col) const {
  const QRectF& m = drawn_.heatmap;
  if (m.isEmpty() || drawn_.heatmap_rows <= 0 || drawn_.heatmap_cols <= 0) return {-1, -1};
  const QPointF c(m.left() + (double(col) + 0.5) * m.width() / double(drawn_.heatmap_cols),
                  m.top() + (double(row) + 0.5) * m.height() / double(drawn_.heatmap_rows));
  return (c * scale()).toPoint();
}

void FigureView::mouseMoveEvent(QMouseEvent* e) {
  const auto* d = pointAt(e->pos());
  const QString cell = d ? QString() : cellText(e->pos());
  if (d) QToolTip::showText(e->globalPosition().toPoint(), pointText(*d), this);
  else if (!cell.isEmpty()) QToolTip::showText(e->globalPosition().toPoint(), cell, this);
  else QToolTip::hideText();
}

void FigureView::mousePressEvent(QMouseEvent* e) {
  const auto* d = pointAt(e->pos());
  const auto* lp = spec_ ? std::get_if<ps::plot::LinePlot>(&*spec_) : nullptr;
  if (!d || !lp) return;
  const auto& s = lp->series[size_t(d->series)];
  Q_EMIT pointClicked(d->series, d->index, s.x[size_t(d->index)], s.y[size_t(d->index)]);
}

void FigureView::wheelEvent(QWheelEvent* e) {
  if (!(e->modifiers() & Qt::ControlModifier)) return e->ignore();  // plain wheel scrolls
  Q_EMIT zoomBy(e->angleDelta().y() > 0 ? 1.25 : 0.8);
  e->accept();
}

FigurePanel::FigurePanel(QWidget* parent) : QScrollArea(parent), view_(new FigureView) {
  setWidget(view_);
  setWidgetResizable(true);
  setFrameShape(QFrame::NoFrame);
  connect(view_, &FigureView::zoomBy, this, [this](double f) { setZoom(zoom_ * f); });
}

void FigurePanel::setZoom(double z) {
  zoom_ = std::clamp(z, 1.0, 16.0);
  apply();
}

void FigurePanel::resizeEvent(QResizeEvent* e) {
  QScrollArea::resizeEvent(e);
  apply();
}

void FigurePanel::apply() {
  // Zoom 1: the view follows the viewport; above, it is larger and the area scrolls.
  view_->setMinimumSize(zoom_ > 1 ? viewport()->size() * zoom_ : QSize(0, 0));
}

}  // namespace ps::gui
