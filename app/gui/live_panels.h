#pragma once
// The scratchpad's per-layer panels for one analysed snippet: gold vs probe-recovered tree, d̂ against gold d,
// the attention heatmap of the selected head (or the head mean) with hover values, and each head's attention
// fraction on AST edges. Every figure comes from analysis/live (live_figures.h) and draws with the plot renderer,
// so it exports like `probescope plot`. A result only replaces what is shown when it is a good one.
#include <QWidget>
#include <memory>

#include "analysis/live/live.h"
#include "app/gui/selection.h"

class QComboBox;
class QLabel;
class QTabWidget;

namespace ps::gui {

class FigurePanel;
class FigureView;

class LivePanels : public QWidget {
  Q_OBJECT
 public:
  explicit LivePanels(Selection& selection, QWidget* parent = nullptr);
  void show(std::shared_ptr<const live::LiveResult> result);  // an ok result
  void redraw();                                               // after the selection's layer or head changed
  const live::LiveResult* result() const { return result_.get(); }

  FigurePanel* treePanel() const { return trees_; }
  FigurePanel* distancePanel() const { return distances_; }
  FigurePanel* attentionPanel() const { return attention_; }
  QLabel* astFractionLabel() const { return fractions_; }
  QTabWidget* tabs() const { return tabs_; }
  FigureView* currentView() const;

 private:
  Selection& sel_;
  std::shared_ptr<const live::LiveResult> result_;
  QTabWidget* tabs_;
  FigurePanel *trees_, *distances_, *attention_;
  QComboBox* head_;
  QLabel* fractions_;
};

}  // namespace ps::gui
