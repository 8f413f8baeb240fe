// Structural probe training. Sentences are padded into [B, n, dim]; pairwise squared distances come
// from the Gram matrix (‖a‖² + ‖b‖² − 2a·b) so no [B, n, n, rank] tensor is ever built.
#include <ATen/ATen.h>

#include <chrono>
#include <cmath>
#include <cstring>

#include "models/util/error.h"
#include "probes/optim.h"
#include "probes/structural.h"

namespace ps::probes {

void validate(const StructuralDataset& ds, StructuralKind kind, const std::string& name) {
  if (ds.dim <= 0) throw InputError(where(name, "dim must be positive"));
  for (size_t i = 0; i < ds.samples.size(); ++i) {
    const auto& s = ds.samples[i];
    auto fail = [&](const std::string& what) {
      throw InputError(where(name, "sample " + std::to_string(i) + ": " + what));
    };
    const size_t n = s.n_words > 0 ? static_cast<size_t>(s.n_words) : 0;
    if (!n) fail("no words");
    if (s.vectors.size() != n * ds.dim) fail("vectors size is not n_words*dim");
    const std::vector<float>& gold = kind == StructuralKind::Distance ? s.distances : s.depths;
    if (gold.size() != (kind == StructuralKind::Distance ? n * n : n))
      fail(kind == StructuralKind::Distance ? "distances must be n_words×n_words" : "depths must have n_words values");
    for (float f : gold)
      if (!std::isfinite(f)) fail("non-finite gold value");
    for (float f : s.vectors)
      if (!std::isfinite(f)) fail("non-finite value in vectors");
  }
}

namespace {

struct Batch {
  at::Tensor h;     // [B, n, dim] zero-padded
  at::Tensor gold;  // [B, n, n] or [B, n]
  at::Tensor mask;  // same shape as gold, 1 on real entries
  at::Tensor norm;  // [B] n² or n
};

Batch make_batch(StructuralKind kind, const StructuralDataset& ds, const std::vector<int>& order, size_t b0, size_t b1) {
  const int64_t B = static_cast<int64_t>(b1 - b0);
  int64_t n = 1;
  for (size_t k = b0; k < b1; ++k) n = std::max<int64_t>(n, ds.samples[order[k]].n_words);
  const bool dist = kind == StructuralKind::Distance;
  Batch b;
  b.h = at::zeros({B, n, ds.dim}, at::kFloat);
  b.gold = dist ? at::zeros({B, n, n}, at::kFloat) : at::zeros({B, n}, at::kFloat);
  b.mask = at::zeros_like(b.gold);
  b.norm = at::empty({B}, at::kFloat);
  float *hp = b.h.data_ptr<float>(), *gp = b.gold.data_ptr<float>(), *mp = b.mask.data_ptr<float>();
  float* np = b.norm.data_ptr<float>();
  for (size_t k = b0; k < b1; ++k) {
    const auto& s = ds.samples[order[k]];
    const int64_t r = static_cast<int64_t>(k - b0), w = s.n_words;
    std::memcpy(hp + r * n * ds.dim, s.vectors.data(), s.vectors.size() * sizeof(float));
    if (dist) {
      for (int64_t i = 0; i < w; ++i)
        for (int64_t j = 0; j < w; ++j) {
          gp[(r * n + i) * n + j] = s.distances[i * w + j];
          mp[(r * n + i) * n + j] = 1.0f;
        }
      np[r] = static_cast<float>(w * w);
    } else {
      for (int64_t i = 0; i < w; ++i) {
        gp[r * n + i] = s.depths[i];
        mp[r * n + i] = 1.0f;
      }
      np[r] = static_cast<float>(w);
    }
  }
  return b;
}

at::Tensor predict_batch(StructuralKind kind, const at::Tensor& Bm, const Batch& b) {
  at::Tensor t = at::matmul(b.h, Bm.t());  // [B, n, rank]
  at::Tensor sq = t.pow(2).sum(-1);        // [B, n]
  if (kind == StructuralKind::Depth) return sq;
  return sq.unsqueeze(2) + sq.unsqueeze(1) - 2 * at::matmul(t, t.transpose(1, 2));
}

at::Tensor batch_loss(StructuralKind kind, const at::Tensor& Bm, const Batch& b) {
  at::Tensor err = (predict_batch(kind, Bm, b) - b.gold).abs() * b.mask;
  at::Tensor per_sentence = (kind == StructuralKind::Distance ? err.sum({1, 2}) : err.sum(1)) / b.norm;
  return per_sentence.mean();
}

std::vector<int> identity_order(size_t n) {
  std::vector<int> o(n);
  for (size_t i = 0; i < n; ++i) o[i] = static_cast<int>(i);
  return o;
}

}  // namespace

double structural_prior(StructuralKind kind, const StructuralDataset& train, const StructuralDataset& ds) {
  // The best constant under L1 is the median of the train targets (off-diagonal distances, or depths).
  std::vector<float> all;
  for (const auto& s : train.samples) {
    if (kind == StructuralKind::Depth) {
      all.insert(all.end(), s.depths.begin(), s.depths.end());
    } else {
      for (int i = 0; i < s.n_words; ++i)
        for (int j = 0; j < s.n_words; ++j)
          if (i != j) all.push_back(s.distances[static_cast<size_t>(i) * s.n_words + j]);
    }
  }
  if (all.empty() || ds.samples.empty()) return std::nan("");
  std::nth_element(all.begin(), all.begin() + all.size() / 2, all.end());
  const double c = all[all.size() / 2];
  double sum = 0;
  for (const auto& s : ds.samples) {
    const double n = s.n_words;
    double err = 0;
    if (kind == StructuralKind::Depth) {
      for (float d : s.depths) err += std::abs(d - c);
      sum += err / n;
    } else {
      for (int i = 0; i < s.n_words; ++i)
        for (int j = 0; j < s.n_words; ++j)
          if (i != j) err += std::abs(s.distances[static_cast<size_t>(i) * s.n_words + j] - c);
      sum += err / (n * n);  // the diagonal (0) is predicted exactly, as any probe does
    }
  }
  return sum / static_cast<double>(ds.samples.size());
}

double structural_loss(const StructuralProbe& p, const StructuralDataset& ds, int batch_size) {
  if (ds.dim != p.dim) throw InputError("structural probe: dataset dim differs from the probe's");
  at::NoGradGuard no_grad;
  const at::Tensor Bm = to_tensor(p.B, {p.rank, p.dim});
  const std::vector<int> order = identity_order(ds.samples.size());
  double sum = 0;
  for (size_t b0 = 0; b0 < order.size(); b0 += batch_size) {
    const size_t b1 = std::min(order.size(), b0 + batch_size);
    sum += batch_loss(p.kind, Bm, make_batch(p.kind, ds, order, b0, b1)).item<double>() * static_cast<double>(b1 - b0);
  }
  return order.empty() ? 0.0 : sum / static_cast<double>(order.size());
}

StructuralFit train_structural_probe(StructuralKind kind, const StructuralDataset& train,
                                     const StructuralDataset& valid, const StructuralConfig& cfg) {
  validate(train, kind, "structural probe train set");
  validate(valid, kind, "structural probe validation set");
  if (train.samples.empty() || valid.samples.empty()) throw InputError("structural probe: empty train or validation set");
  if (train.dim != valid.dim) throw InputError("structural probe: train and validation dims differ");
  if (cfg.batch_size <= 0 || cfg.max_epochs <= 0 || cfg.rank < 0 || cfg.steps_per_epoch < 0)
    throw InputError("structural probe: batch_size and max_epochs must be positive, rank non-negative");
  apply_threads(cfg.threads);
  StructuralFit fit;
  fit.probe.kind = kind;
  fit.probe.dim = train.dim;
  fit.probe.rank = cfg.rank > 0 ? cfg.rank : train.dim;
  fit.probe.B.resize(static_cast<size_t>(fit.probe.rank) * train.dim);
  Rng init(cfg.seed);
  init.fill_uniform(fit.probe.B, -cfg.init_range, cfg.init_range);
  at::Tensor Bm = to_tensor(fit.probe.B, {fit.probe.rank, fit.probe.dim}).requires_grad_(true);
  Adam opt({Bm}, cfg.lr);
  PlateauScheduler sched(cfg.lr, cfg.lr_factor, cfg.lr_patience);
  EarlyStopper stopper(cfg.early_stop_patience, cfg.min_delta);
  Rng rng(mix64(cfg.seed ^ 0x5eedULL));
  BatchStream batches(static_cast<int>(train.samples.size()), cfg.batch_size, rng);
  fit.best_valid_loss = std::numeric_limits<double>::infinity();
  const double prior = structural_prior(kind, train, valid);
  for (int epoch = 1; epoch <= cfg.max_epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t steps = batches.epoch_steps(cfg.steps_per_epoch);
    double sum = 0;
    for (int64_t step = 0; step < steps; ++step) {
      const std::vector<int> idx = batches.next();
      at::Tensor loss = batch_loss(kind, Bm, make_batch(kind, train, idx, 0, idx.size()));
      opt.zero_grad();
      loss.backward();
      opt.step();
      sum += loss.item<double>();
    }
    StructuralProbe current = fit.probe;
    current.B = to_vector(Bm);
    const double vloss = structural_loss(current, valid, cfg.batch_size);
    const std::vector<LossTerm> terms = {{kind == StructuralKind::Distance ? "distance_l1" : "depth_l1", vloss, prior}};
    const auto save_best = [&] { fit.probe = std::move(current); };
    if (!end_epoch(fit, epoch, sum, steps, vloss, terms, t0, sched, stopper, cfg.on_epoch, save_best)) break;
    opt.set_lr(sched.lr());
  }
  finish_fit(fit, cfg.max_epochs);
  return fit;
}

std::vector<std::vector<double>> predict_structural(const StructuralProbe& p, const StructuralDataset& ds,
                                                    int batch_size) {
  if (ds.dim != p.dim) throw InputError("structural probe: dataset dim differs from the probe's");
  if (batch_size <= 0) throw InputError("structural probe: batch_size must be positive");
  at::NoGradGuard no_grad;
  const at::Tensor Bm = to_tensor(p.B, {p.rank, p.dim});
  const std::vector<int> order = identity_order(ds.samples.size());
  std::vector<std::vector<double>> out;
  out.reserve(ds.samples.size());
  for (size_t b0 = 0; b0 < order.size(); b0 += batch_size) {
    const size_t b1 = std::min(order.size(), b0 + batch_size);
    // make_batch only fills gold for the probe's kind; samples may lack the other gold field.
    StructuralKind k = p.kind;
    int64_t n = 1;
    for (size_t i = b0; i < b1; ++i) n = std::max<int64_t>(n, ds.samples[i].n_words);
    at::Tensor h = at::zeros({static_cast<int64_t>(b1 - b0), n, ds.dim}, at::kFloat);
    for (size_t i = b0; i < b1; ++i)
      std::memcpy(h.data_ptr<float>() + (i - b0) * n * ds.dim, ds.samples[i].vectors.data(),
                  ds.samples[i].vectors.size() * sizeof(float));
    Batch b;
    b.h = h;
    const at::Tensor pred = predict_batch(k, Bm, b).to(at::kDouble).contiguous();
    const double* pp = pred.data_ptr<double>();
    for (size_t i = b0; i < b1; ++i) {
      const int64_t w = ds.samples[i].n_words, r = static_cast<int64_t>(i - b0);
      std::vector<double> v;
      if (k == StructuralKind::Depth) {
        v.assign(pp + r * n, pp + r * n + w);
      } else {
        v.resize(static_cast<size_t>(w * w));
        for (int64_t a = 0; a < w; ++a)
          for (int64_t c = 0; c < w; ++c) v[a * w + c] = pp[(r * n + a) * n + c];
      }
      out.push_back(std::move(v));
    }
  }
  return out;
}

}  // namespace ps::probes
