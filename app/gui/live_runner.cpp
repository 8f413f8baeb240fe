#include "app/gui/live_runner.h"

#include <QMetaObject>
#include <exception>

namespace ps::gui {

LiveRunner::~LiveRunner() {
  for (auto& r : runs_) r.cancel->store(true);
  for (auto& r : runs_)
    if (r.thread.joinable()) r.thread.join();
}

void LiveRunner::reap() {
  for (auto it = runs_.begin(); it != runs_.end();) {
    if (it->done->load()) {
      if (it->thread.joinable()) it->thread.join();
      it = runs_.erase(it);
    } else {
      ++it;
    }
  }
}

qint64 LiveRunner::start(Job job) {
  reap();
  if (current_cancel_) current_cancel_->store(true);  // the older run stops at its next stage boundary
  const qint64 gen = ++generation_;
  Run run;
  run.cancel = std::make_shared<std::atomic<bool>>(false);
  run.done = std::make_shared<std::atomic<bool>>(false);
  current_cancel_ = run.cancel;
  ++running_;
  run.thread = std::thread([this, gen, job = std::move(job), cancel = run.cancel, done = run.done] {
    std::shared_ptr<const live::LiveResult> result;
    QString error;
    try {
      result = std::make_shared<const live::LiveResult>(job(*cancel));
    } catch (const std::exception& e) {
      error = QString::fromStdString(e.what());
    } catch (...) {
      error = "unknown error";
    }
    done->store(true);
    QMetaObject::invokeMethod(this, [this, gen, result, error] { deliver(gen, result, error); }, Qt::QueuedConnection);
  });
  runs_.push_back(std::move(run));
  Q_EMIT started(gen);
  return gen;
}

void LiveRunner::cancel() {
  if (!current_cancel_ || running_ == 0) return;
  current_cancel_->store(true);
  cancelled_generation_ = generation_;
}

void LiveRunner::deliver(qint64 gen, std::shared_ptr<const live::LiveResult> result, const QString& error) {
  --running_;
  reap();
  // Only the newest run's result counts; a superseded or cancelled one is dropped however far it got.
  const bool stale = gen != generation_;
  if (stale || gen == cancelled_generation_ || (result && result->status == live::LiveStatus::cancelled)) {
    if (!stale || gen == cancelled_generation_) Q_EMIT cancelled(gen);
    return;
  }
  if (!result) {
    Q_EMIT failed(gen, error);
    return;
  }
  last_ = std::move(result);
  Q_EMIT finished(gen);
}

}  // namespace ps::gui
