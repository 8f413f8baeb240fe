#pragma once
// The pieces of every probe's fitting loop, in plain C++: seeded random numbers that do not depend on
// the standard library's distributions (so results match across platforms), ReduceLROnPlateau and
// early stopping with PyTorch's semantics.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <string>
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
// cooldown=0): after more than `patience` epochs without improvement, lr *= factor. With patience 0
// (the reference's setting) an epoch that improves never cuts; each epoch that does not cuts once —
// the same as martin-wey/ast-probe, which steps the scheduler on every epoch's validation loss.
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

// Minibatches drawn from passes over the train set, each pass a fresh permutation. next() returns the
// indices of one batch; a batch never spans two passes, so the last batch of a pass may be shorter.
// An epoch is either one pass (steps_per_epoch = 0: the classic definition) or exactly steps_per_epoch
// batches, starting new passes as needed (a train set smaller than steps × batch is revisited rather
// than under-trained; a larger one continues its pass in the next epoch).
class BatchStream {
 public:
  BatchStream(int n, int batch_size, Rng& rng) : n_(n), bs_(batch_size), rng_(rng), pos_(n) {}
  std::vector<int> next() {
    if (pos_ >= n_) perm_ = rng_.permutation(n_), pos_ = 0;
    const int end = std::min(n_, pos_ + bs_);
    std::vector<int> out(perm_.begin() + pos_, perm_.begin() + end);
    pos_ = end;
    return out;
  }
  // Batches in the next epoch.
  int64_t epoch_steps(int steps_per_epoch) const {
    if (steps_per_epoch > 0) return steps_per_epoch;
    const int left = pos_ >= n_ ? n_ : n_ - pos_;
    return (left + bs_ - 1) / bs_;
  }

 private:
  int n_, bs_;
  Rng& rng_;
  int pos_;
  std::vector<int> perm_;
};

// One term of a validation loss, beside what a predictor that ignores the vectors scores on it:
// `prior` is the entropy (nats) of the train split's label distribution for a cross-entropy term (the
// loss of always predicting the label frequencies), 1 for the rank hinge (constant d̂), NaN if none.
struct LossTerm {
  std::string name;
  double value = 0;
  double prior = std::numeric_limits<double>::quiet_NaN();
};

// Entropy in nats of the empirical distribution of `labels` (ids in [0, n)).
template <class Labels>
double label_entropy(const Labels& labels, int n) {
  std::vector<double> count(static_cast<size_t>(std::max(n, 1)), 0.0);
  double total = 0;
  for (const auto id : labels)
    if (id >= 0 && id < n) ++count[static_cast<size_t>(id)], ++total;
  double h = 0;
  for (double c : count)
    if (c > 0) h -= c / total * std::log(c / total);
  return h;
}

// One epoch's record, shared by every probe trainer.
struct EpochLog {
  int epoch = 0;
  int64_t steps = 0;               // minibatch steps in this epoch
  double train_loss = 0;
  double valid_loss = 0;
  std::vector<LossTerm> valid_terms;  // the validation loss split by term (may be empty)
  double lr = 0;
  double seconds = 0;
};

// "d 0.4120 (prior 1) c 1.0312 (prior 2.3012) ...": each term beside its prior.
inline std::string format_terms(const std::vector<LossTerm>& terms) {
  std::string out;
  char buf[96];
  for (const LossTerm& t : terms) {
    if (std::isnan(t.prior))
      std::snprintf(buf, sizeof buf, "%s%s %.4f", out.empty() ? "" : " ", t.name.c_str(), t.value);
    else
      std::snprintf(buf, sizeof buf, "%s%s %.4f (prior %.4g)", out.empty() ? "" : " ", t.name.c_str(), t.value, t.prior);
    out += buf;
  }
  return out;
}

// The end of one epoch, shared by every probe trainer: log and report it, keep the best checkpoint
// (save_best runs only on a new best validation loss), then advance the LR schedule.
// Returns false when early stopping says to stop (the schedule is then left as it was).
template <class Fit, class SaveBest>
bool end_epoch(Fit& fit, int epoch, double train_sum, int64_t n_batches, double valid_loss,
               const std::vector<LossTerm>& valid_terms, std::chrono::steady_clock::time_point started,
               PlateauScheduler& sched, EarlyStopper& stopper, const std::function<void(const EpochLog&)>& on_epoch,
               SaveBest&& save_best) {
  EpochLog log;
  log.epoch = epoch;
  log.steps = n_batches;
  log.train_loss = n_batches ? train_sum / n_batches : 0;
  log.valid_loss = valid_loss;
  log.valid_terms = valid_terms;
  log.lr = sched.lr();
  log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  fit.history.push_back(log);
  if (on_epoch) on_epoch(log);
  if (stopper.update(valid_loss)) {
    save_best();
    fit.best_epoch = epoch;
    fit.best_valid_loss = valid_loss;
    fit.best_terms = valid_terms;
  }
  if (stopper.should_stop()) return false;
  sched.step(valid_loss);
  return true;
}

// After the loop: a fit whose best epoch is the last one allowed may still have been improving.
template <class Fit>
void finish_fit(Fit& fit, int max_epochs) {
  fit.converged = fit.best_epoch < max_epochs;
}

}  // namespace ps::probes
