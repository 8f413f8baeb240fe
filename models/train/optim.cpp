#include "models/train/optim.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>

#include "models/util/error.h"

namespace ps::train {

bool decays(const std::string&, const at::Tensor& p) { return p.dim() >= 2; }

AdamW::AdamW(std::map<std::string, at::Tensor> params, AdamWOptions opt) : params_(std::move(params)), opt_(opt) {
  for (const auto& [k, p] : params_) {
    m_[k] = at::zeros_like(p, p.options().requires_grad(false));
    v_[k] = at::zeros_like(p, p.options().requires_grad(false));
  }
}

void AdamW::step(double lr) {
  at::NoGradGuard no_grad;
  ++t_;
  const double bc1 = 1.0 - std::pow(opt_.beta1, double(t_)), bc2 = 1.0 - std::pow(opt_.beta2, double(t_));
  for (auto& [k, p] : params_) {
    const at::Tensor& g = p.grad();
    if (!g.defined()) continue;
    if (opt_.weight_decay != 0 && decays(k, p)) p.mul_(1.0 - lr * opt_.weight_decay);
    auto& m = m_.at(k);
    auto& v = v_.at(k);
    m.mul_(opt_.beta1).add_(g, 1.0 - opt_.beta1);
    v.mul_(opt_.beta2).addcmul_(g, g, 1.0 - opt_.beta2);
    const auto denom = (v.sqrt() / std::sqrt(bc2)).add_(opt_.eps);
    p.addcdiv_(m, denom, -lr / bc1);
  }
}

void AdamW::zero_grad() {
  for (auto& [k, p] : params_)
    if (p.grad().defined()) p.mutable_grad().reset();
}

std::map<std::string, at::Tensor> AdamW::state() const {
  std::map<std::string, at::Tensor> s;
  for (const auto& [k, t] : m_) s["exp_avg." + k] = t;
  for (const auto& [k, t] : v_) s["exp_avg_sq." + k] = t;
  return s;
}

void AdamW::load_state(const std::map<std::string, at::Tensor>& state, int64_t steps, const std::string& source) {
  at::NoGradGuard no_grad;
  for (auto* which : {&m_, &v_}) {
    const std::string prefix = which == &m_ ? "exp_avg." : "exp_avg_sq.";
    for (auto& [k, t] : *which) {
      auto it = state.find(prefix + k);
      if (it == state.end()) throw InputError(source + ": tensor '" + prefix + k + "': missing");
      if (!it->second.sizes().equals(t.sizes()))
        throw InputError(source + ": tensor '" + prefix + k + "': shape does not match the model");
      t.copy_(it->second);
    }
  }
  t_ = steps;
}

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
