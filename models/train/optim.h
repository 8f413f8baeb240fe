#pragma once
// AdamW (decoupled weight decay, PyTorch's torch.optim.AdamW update, on the shared Adam), global-norm gradient clipping and
// the linear-warmup + cosine learning-rate schedule.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>

#include "models/optim/adam.h"

namespace ps::train {

struct AdamWOptions {
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weight_decay = 0.1;
};

// Weight decay applies to matrices (linear weights, embeddings) and never to norms or biases (1-D).
bool decays(const std::string& key, const at::Tensor& p);

// AdamW over a model's named tensors: the shared Adam (models/optim/adam.h) with decoupled weight decay on
// the tensors decays() picks. Update with learning rate lr from each parameter's .grad() (parameters
// without a grad are skipped):
//   p <- p * (1 - lr * wd)                         (decaying parameters only)
//   m <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2
//   p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
// state()/load_state() keep the checkpoint keys "exp_avg.<key>", "exp_avg_sq.<key>".
class AdamW : public optim::Adam {
 public:
  // params: leaf tensors with requires_grad (shared with the model; updated in place). lr_scales: a
  // learning-rate multiplier per key (muP, mup.h; missing keys 1); it scales the decoupled decay too.
  AdamW(const std::map<std::string, at::Tensor>& params, AdamWOptions opt,
        const std::map<std::string, double>& lr_scales = {});
};

// Scales all gradients so their global L2 norm is at most max_norm (if max_norm > 0); returns the norm
// before clipping.
double clip_grad_norm(const std::map<std::string, at::Tensor>& params, double max_norm);

struct Schedule {
  double lr = 1e-3;         // peak
  double min_lr = 1e-4;     // floor of the cosine
  int64_t warmup = 100;     // steps of linear warmup
  int64_t total = 1000;     // steps in the run
  // Learning rate of update number step (0-based): lr * (step + 1) / warmup during warmup, then
  // min_lr + (lr - min_lr) * (1 + cos(pi * (step - warmup) / (total - warmup))) / 2.
  double at(int64_t step) const;
};

}  // namespace ps::train
