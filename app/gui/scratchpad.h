#pragma once
// The scratchpad: an editable snippet pane with a language selector. On each pause in typing (debounced) the
// snippet is analysed on a worker thread (live::analyze through LiveRunner: the UI never waits, a newer
// keystroke supersedes an older run) and the panels follow: ERROR/MISSING nodes marked in the text with the
// parser's message inline, the subwords with word boundaries, and LivePanels for the selected layer. A parse
// error leaves the panels at their last good state. Layer, k and head live in the shared Selection; the probe
// is the fitted AST-Probe of an opened sweep's results.csv at (layer, k).
#include <QWidget>

#include "app/gui/live_runner.h"
#include "app/gui/selection.h"
#include "app/gui/session.h"

class QComboBox;
class QLabel;
class QPlainTextEdit;
class QSlider;
class QSpinBox;
class QTextBrowser;
class QTimer;

namespace ps::gui {

class LivePanels;
class TreeSitterHighlighter;

class Scratchpad : public QWidget {
  Q_OBJECT
 public:
  Scratchpad(Session& session, Selection& selection, QWidget* parent = nullptr);

  void reload();                    // the session's model changed
  void setCode(const QString& code);  // as if typed (debounced)
  void setLanguage(const QString& name);
  QString language() const;  // the selector's language name
  void setMask(const QString& mode);  // a RunOptions mask: default, lm-infinite:G:L[:limit], window:W
  // Query rows [first, first + rows) of the attention pattern only (rows 0: all): a long input's band.
  void setBand(int first, int rows);
  void analyzeNow();                // skip the debounce
  void cancel() { runner_.cancel(); }

  LiveRunner& runner() { return runner_; }
  LivePanels* panels() const { return panels_; }
  QPlainTextEdit* editor() const { return edit_; }
  QLabel* errorLabel() const { return error_; }
  QLabel* statusLabel() const { return status_; }
  QSlider* layerSlider() const { return layer_; }
  QComboBox* maskBox() const { return mask_; }
  // An analysis is pending: the debounce is running or a run is in flight (--screenshot waits for neither).
  bool busy() const;
  const std::string& analysedCode() const { return analysed_code_; }  // the text of the newest run
  QString tokensText() const;
  const TreeSitterHighlighter* highlighter() const { return hl_; }
  int debounceMs() const;

 private:
  void schedule();
  void on_result();
  void show_parse(const live::ParseView& parse);
  void show_tokens(const live::TokenView& tokens);

  Session& s_;
  Selection& sel_;
  LiveRunner runner_;
  QComboBox *lang_, *mask_;
  QSlider* layer_;
  QLabel *layer_label_, *error_, *status_;
  QSpinBox *band_first_, *band_rows_;
  QPlainTextEdit* edit_;
  TreeSitterHighlighter* hl_;
  QTextBrowser* tokens_;
  LivePanels* panels_;
  QTimer* debounce_;
  QString scheduled_text_;     // the editor's text when last scheduled (see the textChanged connection)
  std::string analysed_code_;  // the text of the newest run (byte offsets of its parse refer to it)
};

}  // namespace ps::gui
