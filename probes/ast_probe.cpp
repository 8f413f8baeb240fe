// AST-Probe training and prediction. Hot path is batched: all tokens of a batch go through one
// matmul (bf16 on request: the projection is most of a step) and consecutive differences are taken on
// the flat token matrix. The rank hinge comes with its gradient from rank_hinge.h (no padded [B, L, L]
// tensors, no autograd graph over pairs: at 32 snippets of up to ~250 words that graph was most of a step).
#include "probes/ast_probe.h"

#include <ATen/ATen.h>

#include <chrono>
#include <cstring>

#include "models/util/error.h"
#include "probes/optim.h"
#include "probes/rank_hinge.h"

namespace ps::probes {

namespace {

struct Batch {
  at::Tensor h;          // [N, m] all tokens of the batch, concatenated
  at::Tensor left;       // [Np] flat index of token i for every position (i, i+1) inside a sample
  std::vector<int64_t> offsets;  // [B+1]: sample k's positions are [offsets[k], offsets[k+1]) of the Np
  std::vector<float> gold_d;     // [Np] gold d of every position
  at::Tensor c, u;       // [Np], [N] int64 gold labels
  int64_t n_pairs = 0;           // n_pairs: ordered pairs (i, j) of one sample with gold d_i > d_j
};

Batch make_batch(const ProbeDataset& ds, const std::vector<int>& order, size_t b0, size_t b1, bool bf16 = false) {
  Batch b;
  int64_t N = 0, Np = 0;
  for (size_t k = b0; k < b1; ++k) {
    const auto& s = ds.samples[order[k]];
    N += s.n_words;
    Np += s.n_words - 1;
  }
  b.h = at::empty({N, ds.dim}, at::kFloat);
  at::Tensor left = at::empty({Np}, at::kLong);
  at::Tensor c = at::empty({Np}, at::kLong), u = at::empty({N}, at::kLong);
  b.gold_d.resize(static_cast<size_t>(Np));
  b.offsets.reserve(b1 - b0 + 1);
  float* hp = b.h.data_ptr<float>();
  int64_t *lp = left.data_ptr<int64_t>(), *cp = c.data_ptr<int64_t>(), *up = u.data_ptr<int64_t>();
  int64_t tok = 0, pos = 0;
  for (size_t k = b0; k < b1; ++k) {
    const auto& s = ds.samples[order[k]];
    b.offsets.push_back(pos);
    std::memcpy(hp + tok * ds.dim, s.vectors.data(), s.vectors.size() * sizeof(float));
    for (int i = 0; i < s.n_words; ++i) up[tok + i] = s.u[i];
    const int64_t first = pos;
    for (int i = 0; i + 1 < s.n_words; ++i, ++pos) {
      lp[pos] = tok + i;
      cp[pos] = s.c[i];
      b.gold_d[pos] = static_cast<float>(s.d[i]);
    }
    b.n_pairs += rank_hinge_pair_count(b.gold_d.data() + first, pos - first);
    tok += s.n_words;
  }
  b.offsets.push_back(pos);
  if (bf16) b.h = b.h.to(at::kBFloat16);
  b.left = left;
  b.c = c;
  b.u = u;
  return b;
}

// Mean over the batch's ordered pairs (i, j) of one sample with gold d_i > d_j of relu(1 - (d̂_i - d̂_j)),
// as the padded masked form computed it. Value and gradient come from rank_hinge.h (pairwise for short
// snippets, O(n log n) for long ones); the result
// is tied into autograd as dhat·g + (loss - (dhat·g)), whose value is the loss and whose gradient is g.
at::Tensor pair_hinge(const at::Tensor& dhat, const Batch& b) {
  const at::Tensor x_t = dhat.detach().contiguous();
  const float* x = x_t.data_ptr<float>();
  const float* gold = b.gold_d.data();
  const bool grad = dhat.requires_grad();
  at::Tensor g_t = at::zeros({dhat.size(0)}, at::kFloat);
  float* g = g_t.data_ptr<float>();
  double loss = 0;
  for (size_t k = 0; k + 1 < b.offsets.size(); ++k) {
    const int64_t o = b.offsets[k];
    loss += rank_hinge(x + o, gold + o, b.offsets[k + 1] - o, g + o);
  }
  const double inv = 1.0 / static_cast<double>(b.n_pairs);
  const at::Tensor value = at::scalar_tensor(loss * inv, at::kFloat);
  if (!grad) return value;
  const at::Tensor linear = (dhat * g_t.mul_(inv)).sum();
  return linear + (value - linear.detach());
}

struct Params {
  at::Tensor P, Vc, Vu;
};

struct Forward {
  at::Tensor dhat, sc, su;  // [Np], [Np, n_c], [N, n_u]
};

Forward forward(const Params& p, const Batch& b) {
  // bf16 inputs, fp32 accumulation inside the GEMM, fp32 from there on (and P's gradient back in fp32).
  at::Tensor t = b.h.scalar_type() == at::kBFloat16 ? b.h.mm(p.P.to(at::kBFloat16)).to(at::kFloat) : b.h.mm(p.P);
  at::Tensor diff = t.index_select(0, b.left + 1) - t.index_select(0, b.left);
  return {diff.pow(2).sum(1), diff.mm(p.Vc), t.mm(p.Vu)};
}

struct LossTerms {
  at::Tensor d, c, u;
};

LossTerms losses(const Forward& f, const Batch& b) {
  LossTerms l;
  at::Tensor zero = at::zeros({}, at::kFloat);
  if (b.n_pairs > 0) {
    l.d = pair_hinge(f.dhat, b);
  } else {
    l.d = zero;
  }
  l.c = b.c.numel() ? at::nll_loss(at::log_softmax(f.sc, 1), b.c) : zero;
  l.u = at::nll_loss(at::log_softmax(f.su, 1), b.u);
  return l;
}

at::Tensor ortho_penalty(const at::Tensor& P) {
  const int64_t k = P.size(1);
  return (P.t().mm(P) - at::eye(k, at::kFloat)).pow(2).sum();
}

Params params_of(const AstProbeModel& m) {
  return {to_tensor(m.P, {m.dim, m.rank}), to_tensor(m.Vc, {m.rank, m.n_c}), to_tensor(m.Vu, {m.rank, m.n_u})};
}

std::vector<int> identity_order(size_t n) {
  std::vector<int> o(n);
  for (size_t i = 0; i < n; ++i) o[i] = static_cast<int>(i);
  return o;
}

void check_compatible(const AstProbeModel& m, const ProbeDataset& ds, const std::string& what) {
  if (ds.dim != m.dim || ds.n_c_labels > m.n_c || ds.n_u_labels > m.n_u)
    throw InputError(what + ": dataset (dim " + std::to_string(ds.dim) + ", |C| " + std::to_string(ds.n_c_labels) +
                     ", |U| " + std::to_string(ds.n_u_labels) + ") does not fit the probe (dim " +
                     std::to_string(m.dim) + ", |C| " + std::to_string(m.n_c) + ", |U| " + std::to_string(m.n_u) + ")");
  // make_batch reads d, c, u and n_words×dim floats for every sample: sizes must hold (ids are not checked).
  for (size_t i = 0; i < ds.samples.size(); ++i) {
    const ProbeSample& s = ds.samples[i];
    const size_t n = s.n_words > 0 ? static_cast<size_t>(s.n_words) : 0;
    if (!n || s.vectors.size() != n * ds.dim || s.u.size() != n || s.d.size() != n - 1 || s.c.size() != n - 1)
      throw InputError(what + ": sample " + std::to_string(i) + ": n_words, vectors and d/c/u sizes disagree");
  }
}

// AstProbeConfig::Bf16::automatic: times the step's two GEMMs (h·P and hᵀ·G) at a typical batch shape in
// fp32 and bf16 and picks bf16 only when it is at least 1.3x faster (CPUs without native bf16 run it
// slower than fp32).
bool bf16_pays(int64_t rows, int64_t dim, int64_t rank) {
  at::NoGradGuard no_grad;
  double best[2] = {1e30, 1e30};
  for (int q = 0; q < 2; ++q) {
    const at::ScalarType t = q ? at::kBFloat16 : at::kFloat;
    const at::Tensor h = at::randn({rows, dim}).to(t), p = at::randn({dim, rank}).to(t), g = at::randn({rows, rank}).to(t);
    for (int rep = 0; rep < 4; ++rep) {  // the first is a warm-up; the best of the rest resists load spikes
      const auto t0 = std::chrono::steady_clock::now();
      h.mm(p);
      h.t().mm(g);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (rep) best[q] = std::min(best[q], s);
    }
  }
  return best[0] >= 1.3 * best[1];
}

bool use_bf16(const AstProbeConfig& cfg, const ProbeDataset& train) {
  if (cfg.bf16 != AstProbeConfig::Bf16::automatic) return cfg.bf16 == AstProbeConfig::Bf16::on;
  const int64_t rows = std::max<int64_t>(1, total_words(train) / static_cast<int64_t>(train.samples.size())) * cfg.batch_size;
  return bf16_pays(rows, train.dim, cfg.rank);
}

}  // namespace

AstProbeModel init_ast_probe(int dim, int rank, int n_c, int n_u, uint64_t seed, double init_range) {
  if (dim <= 0 || rank <= 0 || n_c <= 0 || n_u <= 0)
    throw InputError("ast-probe: dim, rank and vocabulary sizes must be positive");
  AstProbeModel m{dim, rank, n_c, n_u, {}, {}, {}};
  Rng rng(seed);
  m.P.resize(static_cast<size_t>(dim) * rank);
  m.Vc.resize(static_cast<size_t>(rank) * n_c);
  m.Vu.resize(static_cast<size_t>(rank) * n_u);
  rng.fill_uniform(m.P, -init_range, init_range);
  rng.fill_uniform(m.Vc, -init_range, init_range);
  rng.fill_uniform(m.Vu, -init_range, init_range);
  return m;
}

AstProbeLoss ast_probe_loss(const AstProbeModel& m, const ProbeDataset& ds, int batch_size) {
  check_compatible(m, ds, "ast-probe loss");
  at::NoGradGuard no_grad;
  const Params p = params_of(m);
  const std::vector<int> order = identity_order(ds.samples.size());
  AstProbeLoss out;
  int64_t nb = 0;
  for (size_t b0 = 0; b0 < order.size(); b0 += batch_size, ++nb) {
    const Batch b = make_batch(ds, order, b0, std::min(order.size(), b0 + batch_size));
    const LossTerms l = losses(forward(p, b), b);
    out.d += l.d.item<double>();
    out.c += l.c.item<double>();
    out.u += l.u.item<double>();
  }
  if (nb) out.d /= nb, out.c /= nb, out.u /= nb;
  out.ortho = ortho_penalty(p.P).item<double>();
  return out;
}

AstProbeFit train_ast_probe(const ProbeDataset& train, const ProbeDataset& valid, const AstProbeConfig& cfg) {
  validate(train, "ast-probe train set");
  validate(valid, "ast-probe validation set");
  if (train.samples.empty() || valid.samples.empty()) throw InputError("ast-probe: empty train or validation set");
  if (valid.dim != train.dim) throw InputError("ast-probe: train and validation dims differ");
  if (cfg.batch_size <= 0 || cfg.rank <= 0 || cfg.max_epochs <= 0 || cfg.steps_per_epoch < 0)
    throw InputError("ast-probe: batch_size, rank and max_epochs must be positive, steps_per_epoch non-negative");
  apply_threads(cfg.threads);
  const int n_c = std::max(train.n_c_labels, valid.n_c_labels), n_u = std::max(train.n_u_labels, valid.n_u_labels);

  AstProbeFit fit;
  fit.bf16 = use_bf16(cfg, train);
  fit.model = init_ast_probe(train.dim, cfg.rank, n_c, n_u, cfg.seed, cfg.init_range);
  Params p = params_of(fit.model);
  for (at::Tensor* t : {&p.P, &p.Vc, &p.Vu}) t->requires_grad_(true);
  Adam opt({p.P, p.Vc, p.Vu}, cfg.lr);
  PlateauScheduler sched(cfg.lr, cfg.lr_factor, cfg.lr_patience);
  EarlyStopper stopper(cfg.early_stop_patience);
  Rng rng(mix64(cfg.seed ^ 0x5eedULL));  // shuffling stream, independent of the init stream
  BatchStream batches(static_cast<int>(train.samples.size()), cfg.batch_size, rng);
  fit.best_valid_loss = std::numeric_limits<double>::infinity();
  // What c and u score against: a classifier that ignores the vectors and outputs the train label
  // frequencies has cross-entropy = their entropy; a constant d̂ has rank hinge exactly 1.
  std::vector<int32_t> all_c, all_u;
  for (const ProbeSample& s : train.samples) {
    all_c.insert(all_c.end(), s.c.begin(), s.c.end());
    all_u.insert(all_u.end(), s.u.begin(), s.u.end());
  }
  const double prior_c = label_entropy(all_c, n_c), prior_u = label_entropy(all_u, n_u);

  for (int epoch = 1; epoch <= cfg.max_epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t steps = batches.epoch_steps(cfg.steps_per_epoch);
    double train_sum = 0;
    for (int64_t step = 0; step < steps; ++step) {
      const std::vector<int> idx = batches.next();
      const Batch b = make_batch(train, idx, 0, idx.size(), fit.bf16);
      const LossTerms l = losses(forward(p, b), b);
      at::Tensor loss = l.d + l.c + l.u + cfg.ortho_weight * ortho_penalty(p.P);
      opt.zero_grad();
      loss.backward();
      opt.step();
      train_sum += loss.item<double>();
    }
    AstProbeModel current = fit.model;
    current.P = to_vector(p.P);
    current.Vc = to_vector(p.Vc);
    current.Vu = to_vector(p.Vu);
    const AstProbeLoss vl = ast_probe_loss(current, valid, cfg.batch_size);
    const std::vector<LossTerm> terms = {{"d", vl.d, 1.0}, {"c", vl.c, prior_c}, {"u", vl.u, prior_u}};
    const auto save_best = [&] { fit.model = std::move(current); };
    if (!end_epoch(fit, epoch, train_sum, steps, vl.total(), terms, t0, sched, stopper, cfg.on_epoch, save_best)) break;
    opt.set_lr(sched.lr());
  }
  finish_fit(fit, cfg.max_epochs);
  return fit;
}

namespace {

// argmax over dim 1; an exact tie with the maximum goes to `prefer` (when >= 0).
at::Tensor argmax_prefer(const at::Tensor& scores, int32_t prefer) {
  at::Tensor am = scores.argmax(1);
  if (prefer < 0 || prefer >= scores.size(1)) return am.contiguous();
  const at::Tensor tie = scores.select(1, prefer).eq(std::get<0>(scores.max(1)));
  return at::where(tie, at::full_like(am, prefer), am).contiguous();
}

}  // namespace

std::vector<DcuPrediction> predict_ast_probe(const AstProbeModel& m, const ProbeDataset& ds, const DecodeVocab& vocab,
                                             int batch_size) {
  return predict_ast_probe(m, ds, batch_size, vocab.c.empty_id, vocab.u.empty_id);
}

std::vector<DcuPrediction> predict_ast_probe(const AstProbeModel& m, const ProbeDataset& ds, int batch_size,
                                             int32_t c_empty, int32_t u_empty) {
  check_compatible(m, ds, "ast-probe predict");
  if (batch_size <= 0) throw InputError("ast-probe predict: batch_size must be positive");
  at::NoGradGuard no_grad;
  const Params p = params_of(m);
  const std::vector<int> order = identity_order(ds.samples.size());
  std::vector<DcuPrediction> out;
  out.reserve(ds.samples.size());
  for (size_t b0 = 0; b0 < order.size(); b0 += batch_size) {
    const size_t b1 = std::min(order.size(), b0 + batch_size);
    const Batch b = make_batch(ds, order, b0, b1);
    const Forward f = forward(p, b);
    const at::Tensor dhat = f.dhat.to(at::kDouble).contiguous();
    const at::Tensor c = f.sc.numel() ? argmax_prefer(f.sc, c_empty) : at::empty({0}, at::kLong);
    const at::Tensor u = argmax_prefer(f.su, u_empty);
    const double* dp = dhat.data_ptr<double>();
    const int64_t *cp = c.data_ptr<int64_t>(), *up = u.data_ptr<int64_t>();
    int64_t tok = 0, pos = 0;
    for (size_t k = b0; k < b1; ++k) {
      const int n = ds.samples[k].n_words;
      DcuPrediction pr;
      pr.d.assign(dp + pos, dp + pos + (n - 1));
      pr.c.assign(cp + pos, cp + pos + (n - 1));
      pr.u.assign(up + tok, up + tok + n);
      out.push_back(std::move(pr));
      pos += n - 1;
      tok += n;
    }
  }
  return out;
}

}  // namespace ps::probes
