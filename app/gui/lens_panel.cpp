#include "app/gui/lens_panel.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>

#include "analysis/plot/attention.h"

namespace ps::gui {

namespace {
QString q(const std::string& s) { return QString::fromStdString(s); }
QString tok(const std::string& s) { return q(plot::readable_token(s)); }

// White to a saturated blue by probability; dark text on light cells.
QColor shade(double p) {
  const double t = std::clamp(p, 0.0, 1.0);
  return QColor::fromRgbF(1.0 - 0.75 * t, 1.0 - 0.55 * t, 1.0 - 0.15 * t);
}
}  // namespace

QString lens_cell_text(const lens::LensTable& t, int64_t row, int64_t col) {
  QString s = t.masked_lm ? QString("layer %1, masked position %2 (was '%3'):")
                                .arg(t.layers[size_t(row)])
                                .arg(t.positions[size_t(col)])
                                .arg(tok(t.target[size_t(col)]))
                          : QString("layer %1, position %2 ('%3' → next '%4'):")
                                .arg(t.layers[size_t(row)])
                                .arg(t.positions[size_t(col)])
                                .arg(tok(t.input[size_t(col)]))
                                .arg(tok(t.target[size_t(col)]));
  for (int64_t j = 0; j < t.k; ++j) {
    const auto& p = t.at(row, col, j);
    s += QString("\n  %1. '%2'  %3").arg(j + 1).arg(tok(p.text)).arg(p.prob, 0, 'f', 3);
  }
  return s;
}

LensPanel::LensPanel(QWidget* parent) : QWidget(parent) {
  title_ = new QLabel;
  note_ = new QLabel;
  note_->setWordWrap(true);
  position_ = new QSpinBox;
  position_->setRange(0, 0);
  position_row_ = new QWidget;
  auto* pr = new QHBoxLayout(position_row_);
  pr->setContentsMargins(0, 0, 0, 0);
  pr->addWidget(new QLabel("masked position"));
  pr->addWidget(position_);
  pr->addStretch(1);
  position_row_->setVisible(false);
  grid_ = new QTableWidget;
  grid_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  grid_->setMouseTracking(true);
  grid_->horizontalHeader()->setDefaultSectionSize(64);
  grid_->verticalHeader()->setDefaultSectionSize(22);
  auto* v = new QVBoxLayout(this);
  v->setContentsMargins(0, 0, 0, 0);
  v->addWidget(title_);
  v->addWidget(position_row_);
  v->addWidget(note_);
  v->addWidget(grid_, 1);
  connect(position_, qOverload<int>(&QSpinBox::valueChanged), this, [this](int p) { Q_EMIT positionPicked(p); });
}

void LensPanel::setMaskMode(bool encoder, int tokens) {
  position_row_->setVisible(encoder);
  const QSignalBlocker block(position_);
  position_->setRange(0, std::max(0, tokens - 1));
}

int LensPanel::maskedPosition() const { return position_->value(); }
void LensPanel::setMaskedPosition(int position) { position_->setValue(position); }
QString LensPanel::message() const { return note_->text(); }

void LensPanel::setTable(std::optional<lens::LensTable> table, const QString& title, const QString& why) {
  table_ = std::move(table);
  title_text_ = title;
  title_->setText("<b>" + title.toHtmlEscaped() + "</b>");
  grid_->clear();
  if (!table_) {
    note_->setText(why);
    grid_->setRowCount(0);
    grid_->setColumnCount(0);
    return;
  }
  const auto& t = *table_;
  note_->setText(t.masked_lm ? QString("Top fillers of the masked position by layer (was '%1'); hover for probabilities.")
                                   .arg(tok(t.target[0]))
                             : "Top next-token prediction per layer (final norm + unembedding on the residual stream); "
                               "last layer = the model's output. Hover for the top k.");
  const int rows = int(t.rows());
  grid_->setRowCount(rows);
  QStringList vlabels;
  for (int r = rows - 1; r >= 0; --r) vlabels << QString("layer %1").arg(t.layers[size_t(r)]);
  grid_->setVerticalHeaderLabels(vlabels);
  if (t.masked_lm) {  // one masked position: columns are ranks
    grid_->setColumnCount(int(t.k));
    QStringList h;
    for (int64_t j = 0; j < t.k; ++j) h << QString("#%1").arg(j + 1);
    grid_->setHorizontalHeaderLabels(h);
  } else {
    grid_->setColumnCount(int(t.cols()));
    QStringList h;
    for (int64_t c = 0; c < t.cols(); ++c) h << tok(t.input[size_t(c)]);
    grid_->setHorizontalHeaderLabels(h);
  }
  for (int r = 0; r < rows; ++r) {
    const int shown = rows - 1 - r;  // the last layer on top
    for (int c = 0; c < grid_->columnCount(); ++c) {
      const auto& p = t.masked_lm ? t.at(r, 0, c) : t.at(r, c, 0);
      auto* item = new QTableWidgetItem(t.masked_lm ? QString("%1  %2").arg(tok(p.text)).arg(p.prob, 0, 'f', 2) : tok(p.text));
      item->setBackground(shade(p.prob));
      item->setToolTip(lens_cell_text(t, r, t.masked_lm ? 0 : c));
      if (!t.masked_lm && p.text == t.target[size_t(c)]) {
        QFont f = item->font();
        f.setBold(true);  // the prediction is the token that actually follows
        item->setFont(f);
      }
      grid_->setItem(shown, c, item);
    }
  }
}

std::optional<plot::FigureSpec> LensPanel::figure() const {
  if (!table_) return std::nullopt;
  return plot::FigureSpec(lens::lens_heatmap(*table_, title_text_.toStdString()));
}

}  // namespace ps::gui
