#pragma once
// Progress for long work, on stderr: a redrawn bar with rate and ETA on a TTY, plain periodic lines
// otherwise (logs, CI). Library code takes a Progress* (may be null) so the CLI and GUI can observe it;
// cancel() lets a face stop the work at the next step boundary.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>

namespace ps {

class Progress {
 public:
  using Clock = std::chrono::steady_clock;
  // total <= 0: unknown. unit: what is counted ("snippets"). extra_unit: a second rate ("tokens").
  Progress(std::string label, int64_t total, std::string unit = "items", bool to_stderr = true)
      : label_(std::move(label)), unit_(std::move(unit)), total_(total), to_stderr_(to_stderr),
        tty_(isatty(STDERR_FILENO) != 0), start_(Clock::now()), last_print_(start_) {}

  // Observer for GUIs: called (throttled) with done/total.
  void on_update(std::function<void(int64_t, int64_t)> fn) { observer_ = std::move(fn); }
  void set_total(int64_t total) { total_ = total; }

  void advance(int64_t n, int64_t extra = 0) {
    done_ += n;
    extra_ += extra;
    maybe_print(false);
  }
  void set_extra_unit(std::string u) { extra_unit_ = std::move(u); }
  void finish() { maybe_print(true); if (to_stderr_ && tty_) std::fputc('\n', stderr); }

  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }
  int64_t done() const { return done_; }
  double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  void maybe_print(bool force) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = Clock::now();
    const double since = std::chrono::duration<double>(now - last_print_).count();
    const double min_gap = tty_ ? 0.2 : 10.0;  // plain lines every 10 s keep logs short
    if (!force && since < min_gap) return;
    last_print_ = now;
    if (observer_) observer_(done_, total_);
    if (!to_stderr_) return;
    const double secs = std::max(1e-9, seconds());
    const double rate = done_ / secs;
    std::string line = label_ + ": " + std::to_string(done_.load());
    if (total_ > 0) line += "/" + std::to_string(total_);
    char buf[160];
    std::snprintf(buf, sizeof buf, " %s, %.1f %s/s", unit_.c_str(), rate, unit_.c_str());
    line += buf;
    if (!extra_unit_.empty()) {
      std::snprintf(buf, sizeof buf, ", %.0f %s/s", extra_ / secs, extra_unit_.c_str());
      line += buf;
    }
    if (total_ > 0 && rate > 0 && done_ < total_) {
      std::snprintf(buf, sizeof buf, ", ETA %.0f s", (total_ - done_) / rate);
      line += buf;
    }
    if (tty_) {
      std::string bar;
      if (total_ > 0) {
        const int width = 24, fill = static_cast<int>(width * std::min<double>(1.0, double(done_) / total_));
        bar = "[" + std::string(fill, '#') + std::string(width - fill, '.') + "] ";
      }
      std::fprintf(stderr, "\r\033[K%s%s", bar.c_str(), line.c_str());
    } else {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    std::fflush(stderr);
  }

  std::string label_, unit_, extra_unit_;
  std::atomic<int64_t> done_{0}, extra_{0};
  int64_t total_;
  bool to_stderr_, tty_;
  std::atomic<bool> cancelled_{false};
  Clock::time_point start_, last_print_;
  std::function<void(int64_t, int64_t)> observer_;
  std::mutex mu_;
};

}  // namespace ps
