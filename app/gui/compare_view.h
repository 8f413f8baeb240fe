#pragma once
// Live compare: one typed snippet through two models side by side (a checkpoint, an intervened model from
// `probescope intervene`, or the same model), each side with its own forward-time intervention — the mask
// mode (default, lm-infinite:G:L[:LIMIT|none], window:W) and the RoPE scaling (--rope-scaling grammar) —
// which change the forward itself. Per side: the attention heatmap at the selected layer and head, the logit
// lens (or the encoder's masked fillers), the gold AST beside the tree the side's AST-Probe recovers and d̂
// against gold d (app/gui/compare_side.h); below, the by-layer curves of both sides overlaid. A side's probe is
// the fitted AST-Probe at the selected layer and k of its own results.csv (setResults), else of side A's.
//
// Model loading and every forward run on worker threads; a new snippet while one runs cancels the stale run
// (analysis/live checks the flag between stages) and only the latest is drawn.
#include <QString>
#include <QStringList>
#include <QTimer>
#include <QWidget>
#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <thread>

#include "analysis/lens/logit_lens.h"
#include "analysis/live/live.h"
#include "app/gui/selection.h"

class QCheckBox;
class QLabel;
class QLineEdit;

namespace ps::gui {

class CompareSide;
class FigurePanel;
class LensPanel;
class Session;

// Where the time of one update went (seconds), per side; what the benchmark and the status line print.
struct UpdateTiming {
  double parse_tokens = 0, forward = 0, lens = 0, rest = 0, total = 0;
};

class CompareView : public QWidget {
  Q_OBJECT
 public:
  explicit CompareView(Selection& selection, QWidget* parent = nullptr);
  ~CompareView() override;  // cancels and joins the workers

  // Side 0 is the primary model, side 1 the compared one. Loads off the GUI thread; modelLoaded reports.
  bool loadModel(int side, const QString& dir, int threads = 0);
  // An already opened model (the window's own) as a side.
  void setModel(int side, std::shared_ptr<const live::LiveModel> model);
  bool hasModel(int side) const;
  std::shared_ptr<const live::LiveModel> model(int side) const { return sides_[size_t(side)].base; }
  void setCompare(bool on);  // show and compute side 1
  bool comparing() const { return compare_; }

  // Forward-time interventions of one side; false (and lastError) for a bad spec. Both rerun that forward.
  bool setMask(int side, const QString& mask);
  bool setRopeScaling(int side, const QString& spec);  // "" = the checkpoint's own
  QString mask(int side) const { return sides_[size_t(side)].mask; }
  QString ropeScaling(int side) const { return sides_[size_t(side)].rope; }

  // Where a side's AST-Probes come from: a session's opened results (the window's own for side A; not owned),
  // or a results.csv of the side's own (false + lastError when it cannot be read). Side B without either uses A's.
  void setProbeSession(int side, Session* session);
  bool setResults(int side, const QString& results_csv);

  // The snippet to analyse; debounced (delay_ms, 0 = at once) and run on the worker.
  void setSnippet(const QString& code, syntax::Language language, int delay_ms = 250);
  void setMaskedPosition(int position);  // encoders: the token masked for the fillers
  void setTopK(int k);

  bool busy() const { return running_ || loading_ || debounce_.isActive(); }
  const live::LiveResult* result(int side) const;
  const lens::LensTable* lens(int side) const;
  std::optional<UpdateTiming> timing(int side) const;
  QString error(int side) const { return sides_[size_t(side)].error; }  // "" when the last run was fine
  CompareSide* side(int side) const { return side_[size_t(side)]; }
  LensPanel* lensPanel(int side) const;
  FigurePanel* attentionPanel(int side) const;
  FigurePanel* treePanel(int side) const;
  FigurePanel* distancePanel(int side) const;
  FigurePanel* curvesPanel() const { return curves_; }
  QLineEdit* maskEdit(int side) const;
  QLineEdit* ropeEdit(int side) const;
  QCheckBox* compareBox() const { return compare_box_; }
  const QString& lastError() const { return last_error_; }

  // Every panel through the plot renderer (PATH_<panel>.pdf/.svg/.png + .csv/.json) and each lens's full
  // table as PATH_lens_<side>.table.csv; returns the files written (empty + lastError on failure).
  QStringList exportPanels(const QString& path_prefix, const QString& formats = "pdf,svg,png");
  // Appends the current snippet to a JSONL corpus (corpus::append_snippet); the id written, or "" + lastError.
  QString saveSnippet(const QString& jsonl_path, const QString& id = {});

 Q_SIGNALS:
  void modelLoaded(int side, bool ok, const QString& message);
  void updated();  // every shown panel drawn for the latest snippet

 private:
  struct Side {
    std::shared_ptr<const live::LiveModel> base, model;  // model = base under the side's RoPE scaling
    QString mask = "default", rope;
    std::optional<live::LiveResult> result;
    std::optional<lens::LensTable> lens;
    std::optional<UpdateTiming> timing;
    QString error, probe_error;  // probe_error: why the side ran without its probe
    Session* probes = nullptr;               // the window's session (not owned), or own_probes
    std::shared_ptr<Session> own_probes;     // a results.csv of this side's own
  };
  struct Outcome {
    std::optional<live::LiveResult> result;
    std::optional<lens::LensTable> lens;
    UpdateTiming timing;
    QString error, probe_error;
  };

  void request();  // (re)start the worker for the current inputs
  void start_run();
  void finish_run(std::array<std::optional<Outcome>, 2> outcome);
  void redraw();
  void redraw_side(int side);
  void redraw_curves();
  Session* probe_session(int side) const;  // the side's own, else side A's (nullptr: no probes)

  Selection& sel_;
  std::array<Side, 2> sides_;
  bool compare_ = false;
  QString code_;
  syntax::Language language_ = syntax::Language::Python;
  int masked_position_ = 1, top_k_ = 5;

  QTimer debounce_;
  std::thread worker_, loader_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  bool running_ = false, pending_ = false, loading_ = false;

  std::array<CompareSide*, 2> side_{};
  FigurePanel* curves_;
  QCheckBox* compare_box_;
  QLabel* status_;
  QString last_error_;
};

}  // namespace ps::gui
