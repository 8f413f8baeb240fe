#pragma once
// The logit lens of one model as a table (analysis/lens): for a decoder, layers (last on top) by positions,
// each cell the top next-token prediction of the final norm + unembedding on that layer's residual stream,
// shaded by its probability, the top k with probabilities on hover; for a masked-LM encoder, the position to
// mask and, per layer, the top fillers. The table comes computed from a worker; this only draws it.
#include <QString>
#include <QWidget>
#include <optional>

#include "analysis/lens/logit_lens.h"

class QLabel;
class QSpinBox;
class QTableWidget;

namespace ps::gui {

class LensPanel : public QWidget {
  Q_OBJECT
 public:
  explicit LensPanel(QWidget* parent = nullptr);
  // nullopt: show `why` (no model, parse error, computing…) and keep no table.
  void setTable(std::optional<lens::LensTable> table, const QString& title, const QString& why = {});
  const std::optional<lens::LensTable>& table() const { return table_; }
  // Encoder mode shows the position box; its range is the input's tokens.
  void setMaskMode(bool encoder, int tokens);
  int maskedPosition() const;
  void setMaskedPosition(int position);

  QTableWidget* grid() const { return grid_; }
  QSpinBox* positionBox() const { return position_; }
  QString message() const;
  // The table as the plot renderer draws it (top-1 probability heatmap with the top tokens in the cells).
  std::optional<plot::FigureSpec> figure() const;

 Q_SIGNALS:
  void positionPicked(int position);

 private:
  QLabel* title_;
  QLabel* note_;
  QSpinBox* position_;
  QWidget* position_row_;
  QTableWidget* grid_;
  std::optional<lens::LensTable> table_;
  QString title_text_;
};

// "layer 3, position 5 ('(' → next 'a'):\n  1. 'a' 0.412\n ..." — the hover text of a cell.
QString lens_cell_text(const lens::LensTable& t, int64_t row, int64_t col);

}  // namespace ps::gui
