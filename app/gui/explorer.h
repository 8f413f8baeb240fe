#pragma once
// Layer explorer: a layer slider over the store's word layers and, for the current layer and snippet,
// the gold tree vs the tree the fitted AST-Probe recovers (probes::predict_snippet), the attention
// heatmap of one head or the head mean (plot::attention_heatmap), and the attention-mask picture of a
// masking mode (plot::mask_panel). Every figure is built by the library; this panel only picks inputs,
// and the snippet, layer, k and head it picks live in the shared Selection.
#include <QWidget>
#include <optional>

#include "app/gui/selection.h"
#include "app/gui/session.h"

class QComboBox;
class QLabel;
class QSlider;
class QSpinBox;
class QTabWidget;

namespace ps::gui {

class FigurePanel;
class FigureView;

class LayerExplorer : public QWidget {
  Q_OBJECT
 public:
  LayerExplorer(Session& session, Selection& selection, QWidget* parent = nullptr);

  // Re-reads the session (a store, model or results file was opened), fits the selection to what it
  // holds (layers and snippets in range, a fitted k) and redraws.
  void reload();
  int layer() const { return sel_.layer(); }
  int64_t snippet() const { return sel_.snippet(); }
  std::optional<ProbeRow> probe() const { return probe_; }  // the probe drawn, if any

  // Shorthands for the selection's setters (the panel follows its signals).
  void setLayer(int layer) { sel_.setLayer(layer); }
  void setSnippet(int64_t index) { sel_.setSnippet(index); }
  void setHead(int head) { sel_.setHead(head); }  // -1: mean over heads
  void setMaskMode(const QString& mode);
  void setTab(int index);  // 0 trees, 1 attention, 2 mask

  QSlider* slider() const { return slider_; }
  QLabel* f1Label() const { return f1_; }
  FigurePanel* treePanel() const { return trees_; }
  FigurePanel* attentionPanel() const { return attention_; }
  FigurePanel* maskPanel() const { return mask_; }
  FigureView* currentView() const;  // the tab shown

 private:
  // Selection -> widgets; a value the store does not hold is replaced by the nearest one it does.
  void follow_layer(int layer);
  void follow_snippet(int64_t snippet);
  void follow_k(int k);
  void update_all();
  void update_trees();
  void update_attention();
  void update_mask();
  std::optional<std::vector<std::string>> word_texts() const;

  Session& s_;
  Selection& sel_;
  QSpinBox* snippet_;
  QLabel *snippet_id_, *layer_label_, *f1_;
  QSlider* slider_;
  QComboBox *k_, *head_, *mode_;
  QTabWidget* tabs_;
  FigurePanel *trees_, *attention_, *mask_;
  std::optional<ProbeRow> probe_;
  bool updating_ = false;
};

}  // namespace ps::gui
