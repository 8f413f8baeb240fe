#include "analysis/said/finetune.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <chrono>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

#include "models/util/error.h"

namespace ps::said {

Mode mode_from_name(const std::string& name) {
  if (name == "full") return Mode::Full;
  if (name == "did") return Mode::DID;
  if (name == "said") return Mode::SAID;
  throw InputError("--mode: unknown mode '" + name + "' (known: said, did, full)");
}

const char* mode_name(Mode m) { return m == Mode::Full ? "full" : m == Mode::DID ? "did" : "said"; }

Head head_from_name(const std::string& name) {
  if (name == "projected") return Head::Projected;
  if (name == "direct") return Head::Direct;
  throw InputError("--head: unknown head training '" + name + "' (known: projected, direct)");
}

const char* head_name(Head h) { return h == Head::Projected ? "projected" : "direct"; }

Named initial_theta(const models::Transformer& model, int64_t n_classes, uint64_t seed) {
  Named theta;
  for (const auto& [key, t] : model.parameters()) {
    // Language-model heads never reach the pooled hidden states: fine-tuning them would change nothing.
    if (key == "unembed.weight" || key.rfind("mlm.", 0) == 0) continue;
    theta.emplace_back(key, t.detach());
  }
  for (auto& h : init_head(model.arch(), n_classes, seed, model.device())) theta.push_back(std::move(h));
  return theta;
}

namespace {

Fastfood::Shapes shapes_of(const Named& theta) {
  Fastfood::Shapes s;
  for (const auto& [name, t] : theta) s.emplace_back(name, std::vector<int64_t>(t.sizes().begin(), t.sizes().end()));
  return s;
}

}  // namespace

Subspace::Subspace(Named theta0, int64_t d, uint64_t seed)
    : theta0_(std::move(theta0)), ff_(shapes_of(theta0_), d, seed) {}

std::vector<at::Tensor> Subspace::weights(const at::Tensor& theta_d, const at::Tensor& lambda,
                                          std::vector<at::Tensor>* delta) const {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> w;
  if (delta) delta->clear();
  for (size_t t = 0; t < theta0_.size(); ++t) {
    const auto& base = theta0_[t].second;
    auto dt = ff_.project(t, theta_d).to(base.device(), base.scalar_type());
    const double lam = lambda.defined() ? lambda[int64_t(t)].item<double>() : 1.0;
    w.push_back(at::add(base, dt, lam));
    if (delta) delta->push_back(std::move(dt));
  }
  return w;
}

at::Tensor Subspace::backward(const std::vector<at::Tensor>& grads, const std::vector<at::Tensor>& delta,
                              const at::Tensor& lambda, at::Tensor* g_lambda) const {
  at::NoGradGuard no_grad;
  auto g_theta = at::zeros({ff_.d()}, at::kFloat);
  if (g_lambda) *g_lambda = at::zeros({int64_t(theta0_.size())}, at::kFloat);
  for (size_t t = 0; t < theta0_.size(); ++t) {
    if (!grads.at(t).defined()) continue;
    const auto g = grads[t].detach().to(at::kCPU, at::kFloat);
    const double lam = lambda.defined() ? lambda[int64_t(t)].item<double>() : 1.0;
    g_theta.add_(ff_.transpose(t, g), lam);
    if (g_lambda) (*g_lambda)[int64_t(t)] = at::dot(g.flatten(), delta.at(t).to(at::kCPU, at::kFloat).flatten()).item<double>();
  }
  return g_theta;
}

namespace {

// Seeded epochs over the training set: a fresh Fisher–Yates shuffle (own loop, so the order does not depend
// on the standard library's std::shuffle) whenever the previous one is used up.
class Batcher {
 public:
  Batcher(size_t n, int64_t batch, uint64_t seed) : n_(n), batch_(size_t(std::max<int64_t>(1, batch))), rng_(seed) {}
  std::vector<size_t> next() {
    std::vector<size_t> out;
    while (out.size() < std::min(batch_, n_)) {
      if (pos_ == order_.size()) reshuffle();
      out.push_back(order_[pos_++]);
    }
    return out;
  }

 private:
  void reshuffle() {
    order_.resize(n_);
    std::iota(order_.begin(), order_.end(), size_t(0));
    for (size_t i = n_; i > 1; --i) std::swap(order_[i - 1], order_[rng_() % i]);
    pos_ = 0;
  }
  size_t n_, batch_, pos_ = 0;
  std::vector<size_t> order_;
  std::mt19937_64 rng_;
};

bool is_head(const std::string& name) { return name.rfind("head.", 0) == 0; }

}  // namespace

RunResult finetune(const std::shared_ptr<const models::Transformer>& model, const TaskData& data,
                   const FinetuneOptions& opt, Progress* progress) {
  if (opt.steps < 1) throw InputError("--steps: must be at least 1");
  if (opt.batch < 1) throw InputError("--batch: must be at least 1");
  if (!(opt.lr > 0)) throw InputError("--lr: must be positive");
  if (data.train.empty() || data.valid.empty()) throw InputError("fine-tuning: empty train or validation set");
  const auto& arch = model->arch();
  for (const auto* xs : {&data.train, &data.valid})
    for (const auto& x : *xs)
      for (auto id : x.ids)
        if (id < 0 || id >= arch.vocab_size)
          throw InputError("example " + x.id + ": token id " + std::to_string(id) + " outside the model's vocabulary (" +
                           std::to_string(arch.vocab_size) + "); is tokenizer.json the model's?");
  const Named theta0 = initial_theta(*model, int64_t(data.classes.size()), opt.seed);
  RunResult res;
  res.mode = opt.mode;
  res.d = opt.mode == Mode::Full ? 0 : opt.d;
  for (const auto& [n, t] : theta0) res.theta_size += t.numel();

  // Index of the head tensors in θ0 (always the last two).
  const size_t hw = theta0.size() - 2, hb = theta0.size() - 1;
  auto build = [&](const std::vector<at::Tensor>& w) {
    std::map<std::string, at::Tensor> replaced;
    for (size_t i = 0; i < w.size(); ++i)
      if (!is_head(theta0[i].first)) replaced[theta0[i].first] = w[i];
    return model->with_changes(arch, replaced);
  };

  // Per mode: the tensors Adam updates, and how one step turns the loss into their gradients.
  std::vector<at::Tensor> leaves;  // full: θ; subspace with Head::Direct: the head
  std::unique_ptr<Subspace> sub;
  at::Tensor theta_d, lambda;
  std::vector<at::Tensor> opt_params;
  std::vector<double> lrs;
  if (opt.mode == Mode::Full) {
    for (const auto& [n, t] : theta0) leaves.push_back(t.detach().clone().requires_grad_(true));
    opt_params = leaves;
    lrs.assign(leaves.size(), opt.lr);
  } else {
    Named projected;
    for (const auto& nt : theta0)
      if (opt.head == Head::Projected || !is_head(nt.first)) projected.push_back(nt);
    sub = std::make_unique<Subspace>(std::move(projected), opt.d, opt.seed);
    theta_d = at::zeros({opt.d}, at::kFloat);
    opt_params.push_back(theta_d);
    lrs.push_back(opt.scale_lr ? opt.lr / std::sqrt(double(opt.d)) : opt.lr);
    if (opt.mode == Mode::SAID) {
      lambda = at::ones({int64_t(sub->theta0().size())}, at::kFloat);
      opt_params.push_back(lambda);
      lrs.push_back(opt.lr);
    }
    if (opt.head == Head::Direct)
      for (size_t i : {hw, hb}) {
        opt_params.push_back(leaves.emplace_back(theta0[i].second.detach().clone().requires_grad_(true)));
        lrs.push_back(opt.lr);
      }
  }
  for (const auto& p : opt_params) res.trainable += p.numel();
  Adam adam(opt_params, lrs);

  // Current θ (subspace: recomputed from θ_d, λ) as a model plus head tensors.
  auto current = [&](std::vector<at::Tensor>* delta, bool grad_leaves) {
    std::vector<at::Tensor> w;
    if (opt.mode == Mode::Full) {
      w = leaves;
    } else {
      w = sub->weights(theta_d, lambda, delta);
      if (grad_leaves)
        for (auto& t : w) t.requires_grad_(true);
      if (opt.head == Head::Direct) w.insert(w.end(), leaves.begin(), leaves.end());
    }
    return w;
  };
  auto evaluate = [&](int64_t step) {
    const auto w = current(nullptr, false);
    const double acc = accuracy(*build(w), w[hw], w[hb], data.valid, opt.pool, opt.eval_batch);
    res.evals.emplace_back(step, acc);
    return acc;
  };

  res.initial_valid_acc = evaluate(0);
  Batcher batcher(data.train.size(), opt.batch, opt.seed ^ 0x5EEDBA7Cull);
  std::shared_ptr<models::Transformer> full_model = opt.mode == Mode::Full ? build(leaves) : nullptr;
  double train_seconds = 0;
  for (int64_t step = 1; step <= opt.steps; ++step) {
    if (progress && progress->cancelled()) {
      res.cancelled = true;
      break;
    }
    const auto t0 = std::chrono::steady_clock::now();
    const auto batch = make_batch(data.train, batcher.next(), arch.causal, model->device());
    std::vector<at::Tensor> delta;
    const auto w = current(&delta, true);
    const auto m = full_model ? full_model : build(w);
    const auto logits = classify(*m, w[hw], w[hb], batch, opt.pool, true);
    const auto loss = at::nll_loss(at::log_softmax(logits, -1), batch.labels);
    loss.backward();
    std::vector<at::Tensor> grads;
    if (opt.mode == Mode::Full) {
      for (auto& l : leaves) grads.push_back(l.grad());
    } else {
      std::vector<at::Tensor> gw;
      for (size_t i = 0; i < sub->theta0().size(); ++i) gw.push_back(w[i].grad());
      at::Tensor g_lambda;
      grads.push_back(sub->backward(gw, delta, lambda, opt.mode == Mode::SAID ? &g_lambda : nullptr));
      if (opt.mode == Mode::SAID) grads.push_back(g_lambda);
      for (auto& l : leaves) grads.push_back(l.grad());
    }
    adam.step(grads);
    for (auto& l : leaves) l.mutable_grad() = at::Tensor();
    train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    res.losses.push_back(loss.item<double>());
    res.steps = step;
    if (progress) progress->advance(1);
    if (opt.eval_every > 0 && step % opt.eval_every == 0 && step < opt.steps) evaluate(step);
  }
  if (res.steps > 0 && res.evals.back().first != res.steps) evaluate(res.steps);
  res.valid_acc = res.evals.back().second;
  for (const auto& [s, a] : res.evals)
    if (s > 0) res.best_valid_acc = std::max(res.best_valid_acc, a);
  if (res.steps == 0) res.best_valid_acc = res.initial_valid_acc;
  const size_t tail = std::max<size_t>(1, res.losses.size() / 10);
  if (!res.losses.empty())
    res.train_loss = std::accumulate(res.losses.end() - tail, res.losses.end(), 0.0) / double(tail);
  res.seconds = train_seconds;
  res.seconds_per_step = res.steps > 0 ? train_seconds / double(res.steps) : 0.0;
  return res;
}

}  // namespace ps::said
