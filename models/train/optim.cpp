#include "models/train/optim.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>

#include "models/util/error.h"

namespace ps::train {

bool decays(const std::string&, const at::Tensor& p) { return p.dim() >= 2; }

namespace {
std::vector<optim::AdamParam> named_params(const std::map<std::string, at::Tensor>& params,
                                           const std::map<std::string, double>& lr_scales) {
  std::vector<optim::AdamParam> out;
  for (const auto& [k, p] : params) {  // key order, as checkpoints list them
    const auto it = lr_scales.find(k);
    out.push_back({k, p, it == lr_scales.end() ? 1.0 : it->second, decays(k, p)});
  }
  return out;
}
}  // namespace

AdamW::AdamW(const std::map<std::string, at::Tensor>& params, AdamWOptions opt, const std::map<std::string, double>& lr_scales)
    : optim::Adam(named_params(params, lr_scales),
                  optim::AdamOptions{opt.beta1, opt.beta2, opt.eps, opt.weight_decay, optim::Decay::decoupled, false}) {}

double clip_grad_norm(const std::map<std::string, at::Tensor>& params, double max_norm) {
  at::NoGradGuard no_grad;
  double sq = 0;
  for (const auto& [k, p] : params)
    if (p.grad().defined()) sq += p.grad().to(at::kDouble).pow(2).sum().item<double>();
  const double norm = std::sqrt(sq);
  if (max_norm > 0 && norm > max_norm) {
    const double scale = max_norm / (norm + 1e-6);  // torch.nn.utils.clip_grad_norm_'s epsilon
    for (const auto& [k, p] : params)
      if (p.grad().defined()) p.grad().mul_(scale);
  }
  return norm;
}

double Schedule::at(int64_t step) const {
  if (step < warmup) return lr * double(step + 1) / double(warmup);
  const int64_t span = std::max<int64_t>(1, total - warmup);
  const double progress = std::min(1.0, double(step - warmup) / double(span));
  return min_lr + (lr - min_lr) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

}  // namespace ps::train
