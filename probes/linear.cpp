// Softmax-regression probe on per-word vectors, with the control-task selectivity helper.
#include "probes/linear.h"

#include <ATen/ATen.h>

#include <chrono>
#include <cmath>
#include <cstring>

#include "models/util/error.h"
#include "probes/optim.h"

namespace ps::probes {

void validate(const TokenDataset& ds, const std::string& name) {
  if (ds.dim <= 0 || ds.n_labels <= 0) throw InputError(where(name, "dim and n_labels must be positive"));
  if (ds.vectors.size() != static_cast<size_t>(ds.size()) * ds.dim)
    throw InputError(where(name, "vectors hold " + std::to_string(ds.vectors.size()) + " floats, expected N*dim"));
  if (!ds.word_types.empty() && ds.word_types.size() != ds.labels.size())
    throw InputError(where(name, "word_types length differs from labels"));
  for (size_t i = 0; i < ds.labels.size(); ++i)
    if (ds.labels[i] < 0 || ds.labels[i] >= ds.n_labels)
      throw InputError(where(name, "token " + std::to_string(i) + ": label id out of range"));
  for (float f : ds.vectors)
    if (!std::isfinite(f)) throw InputError(where(name, "non-finite value in vectors"));
}

namespace {

at::Tensor rows(const TokenDataset& ds, const std::vector<int>& order, size_t b0, size_t b1) {
  at::Tensor h = at::empty({static_cast<int64_t>(b1 - b0), ds.dim}, at::kFloat);
  float* p = h.data_ptr<float>();
  for (size_t k = b0; k < b1; ++k)
    std::memcpy(p + (k - b0) * ds.dim, ds.vectors.data() + static_cast<size_t>(order[k]) * ds.dim, ds.dim * sizeof(float));
  return h;
}

at::Tensor targets(const TokenDataset& ds, const std::vector<int>& order, size_t b0, size_t b1) {
  at::Tensor y = at::empty({static_cast<int64_t>(b1 - b0)}, at::kLong);
  for (size_t k = b0; k < b1; ++k) y.data_ptr<int64_t>()[k - b0] = ds.labels[order[k]];
  return y;
}

std::vector<int> identity_order(size_t n) {
  std::vector<int> o(n);
  for (size_t i = 0; i < n; ++i) o[i] = static_cast<int>(i);
  return o;
}

double mean_ce(const at::Tensor& W, const at::Tensor& b, const TokenDataset& ds, size_t bs) {
  at::NoGradGuard no_grad;
  const std::vector<int> order = identity_order(ds.labels.size());
  double sum = 0;
  for (size_t b0 = 0; b0 < order.size(); b0 += bs) {
    const size_t b1 = std::min(order.size(), b0 + bs);
    at::Tensor logits = at::addmm(b, rows(ds, order, b0, b1), W);
    sum += at::nll_loss(at::log_softmax(logits, 1), targets(ds, order, b0, b1), {}, at::Reduction::Sum).item<double>();
  }
  return order.empty() ? 0.0 : sum / static_cast<double>(order.size());
}

}  // namespace

LinearFit train_linear_probe(const TokenDataset& train, const TokenDataset& valid, const LinearConfig& cfg) {
  validate(train, "linear probe train set");
  validate(valid, "linear probe validation set");
  if (train.labels.empty() || valid.labels.empty()) throw InputError("linear probe: empty train or validation set");
  if (train.dim != valid.dim) throw InputError("linear probe: train and validation dims differ");
  if (cfg.batch_size <= 0 || cfg.max_epochs <= 0 || cfg.steps_per_epoch < 0)
    throw InputError("linear probe: batch_size and max_epochs must be positive, steps_per_epoch non-negative");
  apply_threads(cfg.threads);
  const int L = std::max(train.n_labels, valid.n_labels);
  LinearFit fit;
  fit.probe.dim = train.dim;
  fit.probe.n_labels = L;
  fit.probe.W.resize(static_cast<size_t>(train.dim) * L);
  fit.probe.b.assign(L, 0.0f);
  Rng init(cfg.seed);
  init.fill_uniform(fit.probe.W, -cfg.init_range, cfg.init_range);
  at::Tensor W = to_tensor(fit.probe.W, {train.dim, L}).requires_grad_(true);
  at::Tensor b = to_tensor(fit.probe.b, {L}).requires_grad_(true);
  Adam opt({W, b}, cfg.lr);
  PlateauScheduler sched(cfg.lr, cfg.lr_factor, cfg.lr_patience);
  EarlyStopper stopper(cfg.early_stop_patience);
  Rng rng(mix64(cfg.seed ^ 0x5eedULL));
  BatchStream batches(static_cast<int>(train.labels.size()), cfg.batch_size, rng);
  fit.best_valid_loss = std::numeric_limits<double>::infinity();
  const size_t bs = static_cast<size_t>(cfg.batch_size);
  const double prior = label_entropy(train.labels, L);  // cross-entropy of always predicting the frequencies
  for (int epoch = 1; epoch <= cfg.max_epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t steps = batches.epoch_steps(cfg.steps_per_epoch);
    double sum = 0;
    for (int64_t step = 0; step < steps; ++step) {
      const std::vector<int> idx = batches.next();
      at::Tensor loss = at::nll_loss(at::log_softmax(at::addmm(b, rows(train, idx, 0, idx.size()), W), 1),
                                     targets(train, idx, 0, idx.size()));
      if (cfg.l2 > 0) loss = loss + 0.5 * cfg.l2 * W.pow(2).sum();
      opt.zero_grad();
      loss.backward();
      opt.step();
      sum += loss.item<double>();
    }
    const double vloss = mean_ce(W, b, valid, bs);
    const auto save_best = [&] {
      fit.probe.W = to_vector(W);
      fit.probe.b = to_vector(b);
    };
    const std::vector<LossTerm> terms = {{"ce", vloss, prior}};
    if (!end_epoch(fit, epoch, sum, steps, vloss, terms, t0, sched, stopper, cfg.on_epoch, save_best)) break;
    opt.set_lr(sched.lr());
  }
  finish_fit(fit, cfg.max_epochs);
  return fit;
}

std::vector<int32_t> predict_linear(const LinearProbe& p, const TokenDataset& ds) {
  if (ds.dim != p.dim) throw InputError("linear probe: dataset dim differs from the probe's");
  if (ds.vectors.size() != static_cast<size_t>(ds.size()) * ds.dim)
    throw InputError("linear probe: vectors size is not N*dim");
  at::NoGradGuard no_grad;
  const at::Tensor W = to_tensor(p.W, {p.dim, p.n_labels}), b = to_tensor(p.b, {p.n_labels});
  const std::vector<int> order = identity_order(ds.labels.size());
  std::vector<int32_t> out;
  out.reserve(order.size());
  for (size_t b0 = 0; b0 < order.size(); b0 += 4096) {
    const size_t b1 = std::min(order.size(), b0 + 4096);
    const at::Tensor am = at::addmm(b, rows(ds, order, b0, b1), W).argmax(1).contiguous();
    const int64_t* ap = am.data_ptr<int64_t>();
    for (int64_t i = 0; i < am.numel(); ++i) out.push_back(static_cast<int32_t>(ap[i]));
  }
  return out;
}

double accuracy(const std::vector<int32_t>& pred, const std::vector<int32_t>& gold) {
  if (pred.size() != gold.size()) throw InputError("accuracy: prediction and gold lengths differ");
  if (gold.empty()) return 0.0;
  int64_t ok = 0;
  for (size_t i = 0; i < gold.size(); ++i) ok += pred[i] == gold[i];
  return static_cast<double>(ok) / static_cast<double>(gold.size());
}

Selectivity linear_selectivity(const TokenDataset& train, const TokenDataset& valid, const TokenDataset& test,
                               const LinearConfig& cfg, uint64_t control_seed) {
  for (const TokenDataset* d : {&train, &valid, &test})
    if (d->word_types.size() != d->labels.size()) throw InputError("linear selectivity: every split needs word_types");
  Selectivity s;
  s.task_accuracy = accuracy(predict_linear(train_linear_probe(train, valid, cfg).probe, test), test.labels);
  const ControlTask control(train.labels, train.n_labels, control_seed);
  TokenDataset ctrain = train, cvalid = valid, ctest = test;
  for (TokenDataset* d : {&ctrain, &cvalid, &ctest}) d->labels = control.relabel(d->word_types);
  s.control_accuracy = accuracy(predict_linear(train_linear_probe(ctrain, cvalid, cfg).probe, ctest), ctest.labels);
  return s;
}

}  // namespace ps::probes
