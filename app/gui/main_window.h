#pragma once
// The probescope-gui window: snippet view on the left, layer explorer and curves on the right, a
// status bar with the background task's progress bar and Cancel button. The panels share one Selection
// (snippet, layer, k, head). The public methods are what the menus call; tests and --screenshot call
// them directly.
#include <QMainWindow>
#include <QStringList>
#include <functional>
#include <string>

#include "app/gui/jobs.h"
#include "app/gui/selection.h"
#include "app/gui/session.h"
#include "app/gui/task_runner.h"

class QLabel;
class QMenu;
class QProgressBar;
class QPushButton;
class QTabWidget;

namespace ps::gui {

class CompareView;
class CurvesPanel;
class FigureView;
class LayerExplorer;
class Scratchpad;
class SnippetView;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Each returns false after reporting the reason (dialog + lastError); the window keeps what it had.
  bool openModel(const QString& dir);
  // The same on a worker thread (the window stays responsive while weights load); false when a task is running.
  // taskFinished reports the outcome.
  bool startOpenModel(const QString& dir);
  bool openStore(const QString& path);
  bool openResults(const QString& csv);

  // Background work through the shared runner; false when another task is running or inputs are missing.
  bool startExtract(const ExtractJob& job);
  bool startIdSweep(const QString& out_dir, qint64 max_points = 5000, int ci_reps = 20);
  bool startAstSweep(const QString& out_dir, const QString& ks = "8,32", int epochs = 0);
  void cancelTask();

  // Writes PATH.pdf/.svg/.png (a subset by `formats`) plus PATH.csv and PATH.json with the same renderer
  // as `probescope plot`; returns the paths written (empty after reporting an error).
  QStringList exportView(const QString& path_without_ext, const QString& formats = "pdf,svg,png",
                         FigureView* view = nullptr);
  FigureView* currentView() const;
  void showPage(int index);  // 0 explorer, 1 curves, 2 scratchpad

  // Error dialogs are modal; tests and --screenshot turn them off and read lastError() instead.
  void setDialogsEnabled(bool on) { dialogs_ = on; }
  void setThreads(int n) { threads_ = n; }  // LibTorch threads for models opened later (0 = all)
  const QString& lastError() const { return last_error_; }
  void clearLastError() { last_error_.clear(); }
  QStringList recentFiles() const;

  Session& session() { return session_; }
  Selection& selection() { return selection_; }
  TaskRunner& runner() { return runner_; }
  LayerExplorer* explorer() const { return explorer_; }
  CurvesPanel* curves() const { return curves_; }
  SnippetView* snippetView() const { return snippet_; }
  Scratchpad* scratchpad() const { return scratchpad_; }
  CompareView* compareView() const { return compare_; }
  QTabWidget* pages() const { return pages_; }  // explorer, curves, scratchpad, compare
  QProgressBar* progressBar() const { return bar_; }
  QPushButton* cancelButton() const { return cancel_; }

 Q_SIGNALS:
  void taskFinished(bool ok, bool cancelled, const QString& message);

 private:
  void build_menus();
  void rebuild_recent();
  void remember(const QString& kind, const QString& path);
  void report(const QString& what, const QString& reason);
  void refresh();  // after the session changed
  void update_title();
  // A background job over the open store that writes a results CSV (into *csv) which is opened when it ends.
  using StoreJob = std::function<std::string(const std::string& store, TaskContext& ctx, std::string* csv)>;
  bool start_store_job(const QString& label, StoreJob job);
  // Menu actions with file dialogs.
  void ask_open_model();
  void ask_open_store();
  void ask_open_results();
  void ask_export();
  void ask_extract();
  void ask_id_sweep();
  void ask_ast_sweep();

  Session session_;
  Selection selection_;
  TaskRunner runner_;
  SnippetView* snippet_;
  LayerExplorer* explorer_;
  CurvesPanel* curves_;
  Scratchpad* scratchpad_;
  CompareView* compare_;
  QTabWidget* pages_;
  QLabel* status_;
  QProgressBar* bar_;
  QPushButton* cancel_;
  QMenu* recent_ = nullptr;
  bool dialogs_ = true;
  int threads_ = 0;
  QString last_error_;
};

}  // namespace ps::gui
