#include "app/gui/task_runner.h"

#include <QMetaObject>
#include <exception>

namespace ps::gui {

TaskRunner::TaskRunner(QObject* parent) : QObject(parent) {
  timer_.setInterval(100);
  connect(&timer_, &QTimer::timeout, this, &TaskRunner::poll);
}

TaskRunner::~TaskRunner() {
  if (ctx_) ctx_->progress.cancel();
  if (thread_.joinable()) thread_.join();
}

bool TaskRunner::start(const QString& label, Job job, Then then) {
  if (running_) return false;
  if (thread_.joinable()) thread_.join();  // the previous job's thread has already returned
  ctx_ = std::make_unique<TaskContext>();
  then_ = std::move(then);
  running_ = true;
  TaskContext* ctx = ctx_.get();
  thread_ = std::thread([this, ctx, job = std::move(job)] {
    bool ok = true;
    std::string msg;
    try {
      msg = job(*ctx);
    } catch (const std::exception& e) {
      ok = false;
      msg = e.what();
    } catch (...) {
      ok = false;
      msg = "unknown error";
    }
    // Back to the GUI thread: signals and `then` run there.
    QMetaObject::invokeMethod(this, [this, ok, m = QString::fromStdString(msg)] { done(ok, m); },
                              Qt::QueuedConnection);
  });
  timer_.start();
  Q_EMIT started(label);
  Q_EMIT progressed(0, 0);
  return true;
}

void TaskRunner::cancel() {
  if (running_ && ctx_) ctx_->progress.cancel();
}

void TaskRunner::poll() {
  if (ctx_) Q_EMIT progressed(ctx_->progress.done(), ctx_->total.load());
}

void TaskRunner::done(bool ok, const QString& message) {
  if (thread_.joinable()) thread_.join();
  timer_.stop();
  const bool cancelled = ctx_ && ctx_->progress.cancelled();
  poll();
  running_ = false;
  Then then = std::move(then_);
  then_ = {};
  if (ok && !cancelled && then) {
    try {
      then();
    } catch (const std::exception& e) {
      Q_EMIT finished(false, false, QString::fromStdString(e.what()));
      return;
    }
  }
  Q_EMIT finished(ok, cancelled, message);
}

}  // namespace ps::gui
