#pragma once
// Curves over every loaded results file at once (several models, random-weight baselines, control
// tasks): AST-Probe F1 by layer, F1 by k (at the selected layer) and intrinsic dimension by layer
// with its bootstrap band. Built by plot::lines_from_table, the call behind `probescope plot lines`.
// Hover shows a point's values; clicking a point of a by-layer curve selects its layer (and emits
// layerClicked, so the window can show the explorer).
#include <QWidget>
#include <optional>

#include "analysis/plot/figure.h"
#include "app/gui/selection.h"
#include "app/gui/session.h"

class QComboBox;
class QTabWidget;

namespace ps::gui {

class FigurePanel;
class FigureView;

class CurvesPanel : public QWidget {
  Q_OBJECT
 public:
  CurvesPanel(Session& session, Selection& selection, QWidget* parent = nullptr);
  void reload();             // results files were added
  void setTab(int index);    // 0 F1 by layer, 1 F1 by k, 2 ID by layer
  FigurePanel* panel(int index) const;
  FigureView* currentView() const;
  // The ID tab shows one estimator at a time (default TwoNN): 5 models x 4 estimators is unreadable.
  // "all" shows every estimator as its own series.
  void setEstimator(const QString& estimator);
  QString estimator() const;

 Q_SIGNALS:
  void layerClicked(int layer);

 private:
  std::optional<plot::LinePlot> f1_by_layer() const;
  std::optional<plot::LinePlot> f1_by_k() const;
  std::optional<plot::LinePlot> id_by_layer() const;

  void refresh_estimators();
  void update_f1_by_k();  // at the selected layer

  Session& s_;
  Selection& sel_;
  QTabWidget* tabs_;
  FigurePanel* panels_[3];
  QComboBox* estimators_;
};

}  // namespace ps::gui
