#include "app/gui/selection.h"

namespace ps::gui {

namespace {
template <class T>
bool assign(T& field, T value) {
  if (field == value) return false;
  field = value;
  return true;
}
}  // namespace

void Selection::setSnippet(int64_t snippet) {
  if (assign(snippet_, snippet)) Q_EMIT snippetChanged(snippet);
}
void Selection::setLayer(int layer) {
  if (assign(layer_, layer)) Q_EMIT layerChanged(layer);
}
void Selection::setK(int k) {
  if (assign(k_, k)) Q_EMIT kChanged(k);
}
void Selection::setHead(int head) {
  if (assign(head_, head)) Q_EMIT headChanged(head);
}

}  // namespace ps::gui
