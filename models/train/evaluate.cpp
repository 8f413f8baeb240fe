#include "models/train/evaluate.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <c10/core/InferenceMode.h>

#include <cmath>

#include "models/train/trainer.h"
#include "models/transformer/cross_entropy.h"

namespace ps::train {

AutocastBf16::AutocastBf16(bool on) : on_(on) {
  if (!on_) return;
  prev_ = at::autocast::is_cpu_enabled();
  at::autocast::set_cpu_enabled(true);
  at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  at::autocast::increment_nesting();
}

AutocastBf16::~AutocastBf16() {
  if (!on_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();  // drop cached bf16 weight copies
  at::autocast::set_cpu_enabled(prev_);
}

std::vector<double> unigram_nll(const std::vector<int64_t>& counts) {
  double n = 0;
  for (int64_t c : counts) n += double(c);
  const double denom = n + double(counts.size());
  std::vector<double> out(counts.size());
  for (size_t i = 0; i < counts.size(); ++i) out[i] = -std::log((double(counts[i]) + 1.0) / denom);
  return out;
}

double EvalResult::ppl() const { return std::exp(loss); }
double EvalResult::unigram_ppl() const { return std::exp(unigram_loss); }

namespace {
at::Tensor nll_sum(const models::Transformer& model, const LmBatch& b, bool grad) {
  models::ForwardInput in{b.input_ids, b.position_ids, b.attn_mask, {}};
  models::Capture cap;
  cap.logits = true;
  cap.autograd = grad;
  const auto out = model.forward(in, cap);
  const int64_t V = out.logits.size(-1);
  // fp32 log-sum-exp even under bf16 autocast (the loss needs the precision), fused with its gradient.
  return models::cross_entropy_sum(out.logits.reshape({-1, V}), b.targets.reshape({-1}), -100);
}
}  // namespace

at::Tensor lm_loss(const models::Transformer& model, const LmBatch& batch, bool grad) {
  return nll_sum(model, batch, grad) / double(std::max<int64_t>(1, batch.n_targets));
}

EvalResult evaluate(const models::Transformer& model, PackedData& valid, const std::vector<double>& unigram,
                    int64_t max_tokens, int64_t rows_per_batch, bool bf16, const MlmMasking* mlm,
                    uint64_t mask_seed) {
  c10::InferenceMode guard;
  const auto table = at::tensor(unigram, at::TensorOptions().dtype(at::kDouble));
  EvalResult r;
  double sum = 0, usum = 0;
  int64_t inputs = 0;
  for (int64_t row = 0; row < valid.eval_rows(); row += rows_per_batch) {
    if (max_tokens > 0 && (mlm ? inputs : r.tokens) >= max_tokens) break;
    LmBatch b = valid.eval_batch(row, rows_per_batch);
    inputs += b.input_ids.numel();
    if (mlm) b = mlm_rows(b, *mlm, mask_seed, row);
    if (b.n_targets == 0) continue;
    {
      AutocastBf16 ac(bf16);
      sum += nll_sum(model, b, false).item<double>();
    }
    const auto t = b.targets.reshape({-1});
    const auto keep = t.ne(-100);
    usum += table.index_select(0, t.masked_select(keep)).sum().item<double>();
    r.tokens += b.n_targets;
  }
  if (r.tokens > 0) {
    r.loss = sum / double(r.tokens);
    r.unigram_loss = usum / double(r.tokens);
  }
  return r;
}

}  // namespace ps::train
