#pragma once
// One side of the live compare view: its model label, its forward-time settings (mask, RoPE scaling) and every
// live panel for its latest good result — attention at the selected layer and head, the gold AST beside the
// tree its AST-Probe recovers, d̂ against gold d, and the logit lens (or an encoder's masked fillers). The
// figures come from analysis/live and analysis/lens and draw with the plot renderer; this only lays them out.
#include <QGroupBox>
#include <QString>
#include <optional>

#include "analysis/lens/logit_lens.h"
#include "analysis/live/live.h"

class QLabel;
class QLineEdit;
class QTabWidget;

namespace ps::gui {

class FigurePanel;
class LensPanel;

inline QString compare_side_name(int side) { return side == 0 ? "A" : "B"; }

class CompareSide : public QGroupBox {
  Q_OBJECT
 public:
  explicit CompareSide(const QString& name, QWidget* parent = nullptr);

  void setModelLabel(const QString& text);
  // The panels for `result` at (layer, head); no result (or a failed one): `why` in each panel.
  void draw(const live::LiveResult* result, const std::optional<lens::LensTable>& lens, const QString& title,
            const QString& why, int layer, int head, bool encoder, int masked_position);

  FigurePanel* attention() const { return attention_; }
  FigurePanel* trees() const { return trees_; }
  FigurePanel* distances() const { return distances_; }
  LensPanel* lens() const { return lens_; }
  QLineEdit* maskEdit() const { return mask_; }
  QLineEdit* ropeEdit() const { return rope_; }
  QTabWidget* tabs() const { return tabs_; }  // attention, trees, d̂: the view keeps both sides on the same one

 Q_SIGNALS:
  void maskEdited(const QString& mask);
  void ropeEdited(const QString& spec);
  void positionPicked(int position);

 private:
  QLabel* label_;
  QLineEdit *mask_, *rope_;
  QTabWidget* tabs_;
  FigurePanel *attention_, *trees_, *distances_;
  LensPanel* lens_;
};

}  // namespace ps::gui
