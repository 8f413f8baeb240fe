#pragma once
// Runs one library call at a time on a worker thread so the window stays responsive: a QTimer polls the
// job's Progress (the library's own observer is throttled to 10 s off a TTY) and Cancel sets its flag,
// which the library checks at its next step boundary.
#include <QObject>
#include <QString>
#include <QTimer>
#include <functional>
#include <memory>
#include <thread>

#include "app/gui/jobs.h"

namespace ps::gui {

class TaskRunner : public QObject {
  Q_OBJECT
 public:
  // Returns a one-line summary; throws on failure (the message becomes the error shown).
  using Job = std::function<std::string(TaskContext&)>;
  // Called on the GUI thread after the job returned normally (e.g. open what it wrote).
  using Then = std::function<void()>;

  explicit TaskRunner(QObject* parent = nullptr);
  ~TaskRunner() override;  // cancels and joins a running job

  bool busy() const { return running_; }
  // False (and nothing started) when a job is already running.
  bool start(const QString& label, Job job, Then then = {});
  void cancel();
  bool cancel_requested() const { return ctx_ && ctx_->progress.cancelled(); }

 Q_SIGNALS:
  void started(const QString& label);
  void progressed(qint64 done, qint64 total);
  // ok: returned normally; message: its summary, or the error's one-line reason.
  void finished(bool ok, bool cancelled, const QString& message);

 private:
  void poll();
  void done(bool ok, const QString& message);

  std::unique_ptr<TaskContext> ctx_;
  std::thread thread_;
  QTimer timer_;
  bool running_ = false;
  Then then_;
};

}  // namespace ps::gui
