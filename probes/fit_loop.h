#pragma once
// The pieces of every probe's fitting loop, in plain C++: seeded random numbers that do not depend on
// the standard library's distributions (so results match across platforms), ReduceLROnPlateau and
// early stopping with PyTorch's semantics.
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

namespace ps::probes {

class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  double uniform() { return static_cast<double>(g_() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  uint64_t below(uint64_t n) { return n ? g_() % n : 0; }  // modulo bias is negligible for our n
  void fill_uniform(std::vector<float>& v, double lo, double hi) {
    for (auto& x : v) x = static_cast<float>(uniform(lo, hi));
  }
  // Fisher–Yates permutation of 0..n-1.
  std::vector<int> permutation(int n) {
    std::vector<int> p(n);
    std::iota(p.begin(), p.end(), 0);
    for (int i = n - 1; i > 0; --i) std::swap(p[i], p[below(static_cast<uint64_t>(i) + 1)]);
    return p;
  }

 private:
  std::mt19937_64 g_;
};

// Stateless mixing (splitmix64), for choices that must not depend on visiting order.
inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// torch.optim.lr_scheduler.ReduceLROnPlateau(mode='min', threshold=1e-4, threshold_mode='rel',
// cooldown=0): after more than `patience` epochs without improvement, lr *= factor.
class PlateauScheduler {
 public:
  PlateauScheduler(double lr, double factor = 0.1, int patience = 0, double threshold = 1e-4, double min_lr = 0)
      : lr_(lr), factor_(factor), patience_(patience), threshold_(threshold), min_lr_(min_lr) {}
  // Returns the learning rate to use from now on.
  double step(double metric) {
    if (metric < best_ * (1.0 - threshold_)) {
      best_ = metric;
      bad_ = 0;
    } else if (++bad_ > patience_) {
      lr_ = std::max(lr_ * factor_, min_lr_);
      bad_ = 0;
    }
    return lr_;
  }
  double lr() const { return lr_; }

 private:
  double lr_, factor_;
  int patience_;
  double threshold_, min_lr_;
  double best_ = std::numeric_limits<double>::infinity();
  int bad_ = 0;
};

// Stops after `patience` epochs in a row without an improvement of more than min_delta.
class EarlyStopper {
 public:
  explicit EarlyStopper(int patience, double min_delta = 0) : patience_(patience), min_delta_(min_delta) {}
  // Returns true when the metric is a new best (the caller keeps a checkpoint then).
  bool update(double metric) {
    if (metric < best_ - min_delta_) {
      best_ = metric;
      bad_ = 0;
      return true;
    }
    ++bad_;
    return false;
  }
  bool should_stop() const { return bad_ >= patience_; }
  double best() const { return best_; }

 private:
  int patience_;
  double min_delta_;
  double best_ = std::numeric_limits<double>::infinity();
  int bad_ = 0;
};

// One epoch's record, shared by every probe trainer.
struct EpochLog {
  int epoch = 0;
  double train_loss = 0;
  double valid_loss = 0;
  double lr = 0;
  double seconds = 0;
};

// The end of one epoch, shared by every probe trainer: log and report it, keep the best checkpoint
// (save_best runs only on a new best validation loss), then advance the LR schedule.
// Returns false when early stopping says to stop (the schedule is then left as it was).
template <class Fit, class SaveBest>
bool end_epoch(Fit& fit, int epoch, double train_sum, int64_t n_batches, double valid_loss,
               std::chrono::steady_clock::time_point started, PlateauScheduler& sched, EarlyStopper& stopper,
               const std::function<void(const EpochLog&)>& on_epoch, SaveBest&& save_best) {
  EpochLog log;
  log.epoch = epoch;
  log.train_loss = n_batches ? train_sum / n_batches : 0;
  log.valid_loss = valid_loss;
  log.lr = sched.lr();
  log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  fit.history.push_back(log);
  if (on_epoch) on_epoch(log);
  if (stopper.update(valid_loss)) {
    save_best();
    fit.best_epoch = epoch;
    fit.best_valid_loss = valid_loss;
  }
  if (stopper.should_stop()) return false;
  sched.step(valid_loss);
  return true;
}

}  // namespace ps::probes
