#include "analysis/said/classifier.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <numeric>

#include "models/util/error.h"

namespace ps::said {

Pool pool_from_name(const std::string& name) {
  if (name == "mean") return Pool::Mean;
  if (name == "first") return Pool::First;
  if (name == "last") return Pool::Last;
  throw InputError("--pool: unknown pooling '" + name + "' (known: mean, first, last)");
}

const char* pool_name(Pool p) { return p == Pool::Mean ? "mean" : p == Pool::First ? "first" : "last"; }

Batch make_batch(const std::vector<Example>& xs, const std::vector<size_t>& which, bool causal, at::Device device) {
  const int64_t B = int64_t(which.size());
  int64_t S = 1;
  for (size_t i : which) S = std::max<int64_t>(S, int64_t(xs.at(i).ids.size()));
  auto ids = at::zeros({B, S}, at::kLong);
  auto lengths = at::empty({B}, at::kLong), labels = at::empty({B}, at::kLong);
  auto* ip = ids.data_ptr<int64_t>();
  for (int64_t b = 0; b < B; ++b) {
    const auto& x = xs[which[b]];
    std::copy(x.ids.begin(), x.ids.end(), ip + b * S);
    lengths[b] = int64_t(x.ids.size());
    labels[b] = int64_t(x.label);
  }
  const auto k = at::arange(S, at::kLong);
  auto mask = (k.view({1, 1, S}) < lengths.view({B, 1, 1})).expand({B, S, S});
  if (causal) mask = at::logical_and(mask, (k.view({1, 1, S}) <= k.view({1, S, 1})));
  Batch out;
  out.ids = ids.to(device);
  out.mask = mask.contiguous().to(device);
  out.lengths = lengths.to(device);
  out.labels = labels.to(device);
  return out;
}

std::vector<std::pair<std::string, at::Tensor>> init_head(const models::ArchSpec& arch, int64_t n_classes,
                                                          uint64_t seed, at::Device device) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed ^ 0x48454144ull);  // "HEAD": apart from other draws
  auto w = at::empty({n_classes, arch.d_model}, at::kFloat).normal_(0.0, arch.initializer_range, gen);
  return {{"head.weight", w.to(device)}, {"head.bias", at::zeros({n_classes}, at::kFloat).to(device)}};
}

at::Tensor classify(const models::Transformer& model, const at::Tensor& head_w, const at::Tensor& head_b,
                    const Batch& batch, Pool pool, bool autograd) {
  models::ForwardInput in;
  in.input_ids = batch.ids;
  in.attn_mask = batch.mask;
  models::Capture cap;
  const std::string hook = model.hidden_state_hook(-1);
  cap.hooks.insert(hook);
  cap.autograd = autograd;
  const auto h = model.forward(in, cap).hooks.at(hook).to(at::kFloat);  // [B,S,d]
  const int64_t B = h.size(0), S = h.size(1);
  at::Tensor pooled;
  if (pool == Pool::Mean) {
    const auto valid = (at::arange(S, batch.lengths.options()).view({1, S}) < batch.lengths.view({B, 1}))
                           .to(at::kFloat)
                           .unsqueeze(-1);
    pooled = (h * valid).sum(1) / batch.lengths.to(at::kFloat).view({B, 1});
  } else {
    const auto pos = pool == Pool::First ? at::zeros_like(batch.lengths) : batch.lengths - 1;
    pooled = h.gather(1, pos.view({B, 1, 1}).expand({B, 1, h.size(2)})).squeeze(1);
  }
  return at::linear(pooled, head_w, head_b);
}

double accuracy(const models::Transformer& model, const at::Tensor& head_w, const at::Tensor& head_b,
                const std::vector<Example>& xs, Pool pool, int64_t batch) {
  if (xs.empty()) return 0.0;
  at::NoGradGuard no_grad;
  // Length-sorted batches waste the least padding; the order does not change the count.
  std::vector<size_t> order(xs.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return xs[a].ids.size() < xs[b].ids.size(); });
  int64_t correct = 0;
  for (size_t i = 0; i < order.size(); i += size_t(batch)) {
    std::vector<size_t> which(order.begin() + i, order.begin() + std::min(order.size(), i + size_t(batch)));
    const auto b = make_batch(xs, which, model.arch().causal, model.device());
    const auto logits = classify(model, head_w, head_b, b, pool, false);
    correct += logits.argmax(-1).eq(b.labels).sum().item<int64_t>();
  }
  return double(correct) / double(xs.size());
}

namespace {
std::vector<optim::AdamParam> with_rates(const std::vector<at::Tensor>& params, const std::vector<double>& lrs) {
  if (lrs.size() != params.size()) throw RuntimeError("Adam: one learning rate per tensor expected");
  std::vector<optim::AdamParam> out;
  for (size_t i = 0; i < params.size(); ++i) out.push_back({"", params[i], lrs[i], false});
  return out;
}
}  // namespace

// step(1.0, ...): each tensor's rate is 1.0 * lrs[i], exactly lrs[i].
Adam::Adam(std::vector<at::Tensor> params, std::vector<double> lrs, double beta1, double beta2, double eps)
    : params_(std::move(params)),
      adam_(with_rates(params_, lrs), optim::AdamOptions{beta1, beta2, eps, 0, optim::Decay::decoupled, true}) {}

}  // namespace ps::said
