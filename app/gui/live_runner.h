#pragma once
// Runs the scratchpad's analysis (live::analyze) on worker threads so typing never waits for a forward: each
// start() supersedes the run before it (its cancel flag is set, so it stops at its next stage boundary, and its
// result is dropped even if it finishes), and only the newest run's result reaches the GUI thread.
#include <QObject>
#include <QString>
#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <thread>

#include "analysis/live/live.h"

namespace ps::gui {

class LiveRunner : public QObject {
  Q_OBJECT
 public:
  using Job = std::function<live::LiveResult(const std::atomic<bool>& cancel)>;
  explicit LiveRunner(QObject* parent = nullptr) : QObject(parent) {}
  ~LiveRunner() override;  // cancels every run and joins its thread

  qint64 start(Job job);  // returns the run's generation
  void cancel();          // the newest run: stopped at its next stage, its result dropped
  bool busy() const { return running_ > 0; }
  qint64 generation() const { return generation_; }
  // The newest result delivered (null before the first).
  std::shared_ptr<const live::LiveResult> last() const { return last_; }

 Q_SIGNALS:
  void started(qint64 generation);
  void finished(qint64 generation);           // last() holds its result (any LiveStatus but cancelled)
  void cancelled(qint64 generation);
  void failed(qint64 generation, const QString& message);

 private:
  struct Run {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> cancel, done;
  };
  void reap();  // joins runs whose threads have returned
  void deliver(qint64 generation, std::shared_ptr<const live::LiveResult> result, const QString& error);

  std::list<Run> runs_;
  std::shared_ptr<std::atomic<bool>> current_cancel_;
  qint64 generation_ = 0, cancelled_generation_ = 0;
  int running_ = 0;
  std::shared_ptr<const live::LiveResult> last_;
};

}  // namespace ps::gui
