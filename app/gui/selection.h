#pragma once
// What the panels look at: one snippet, layer, probe k and attention head. The explorer, the curves and
// the snippet view read it and write to it, so no one syncs a slider with a plot by hand. Each setter
// emits only on a real change, which keeps panels that follow each other from looping.
#include <QObject>
#include <cstdint>

namespace ps::gui {

class Selection : public QObject {
  Q_OBJECT
 public:
  using QObject::QObject;

  int64_t snippet() const { return snippet_; }
  int layer() const { return layer_; }
  int k() const { return k_; }        // 0: none fitted yet
  int head() const { return head_; }  // -1: the mean over heads

  void setSnippet(int64_t snippet);
  void setLayer(int layer);
  void setK(int k);
  void setHead(int head);

 Q_SIGNALS:
  void snippetChanged(qint64 snippet);
  void layerChanged(int layer);
  void kChanged(int k);
  void headChanged(int head);

 private:
  int64_t snippet_ = 0;
  int layer_ = 0, k_ = 0, head_ = -1;
};

}  // namespace ps::gui
