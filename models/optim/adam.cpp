#include "models/optim/adam.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>

#include "models/util/error.h"

namespace ps::optim {

Adam::Adam(std::vector<AdamParam> params, AdamOptions opt) : params_(std::move(params)), opt_(opt) {
  for (const auto& p : params_) {
    m_.push_back(at::zeros_like(p.tensor, p.tensor.options().requires_grad(false)));
    v_.push_back(at::zeros_like(p.tensor, p.tensor.options().requires_grad(false)));
  }
}

// Each expression keeps the order of operations of the update it replaced (see adam.h), so results are
// bit-identical to before.
void Adam::update(size_t i, const at::Tensor& grad, double lr, double bc1, double bc2) {
  at::Tensor& p = params_[i].tensor;
  const double lr_i = lr * params_[i].lr_scale;
  const bool decays = opt_.weight_decay != 0 && params_[i].decay;
  at::Tensor g = grad.detach();
  if (decays && opt_.decay == Decay::decoupled) p.mul_(1.0 - lr_i * opt_.weight_decay);
  if (decays && opt_.decay == Decay::l2) g = g.add(p, opt_.weight_decay);
  m_[i].mul_(opt_.beta1).add_(g, 1.0 - opt_.beta1);
  v_[i].mul_(opt_.beta2).addcmul_(g, g, 1.0 - opt_.beta2);
  const at::Tensor denom =
      opt_.correct_inside_sqrt ? (v_[i] / bc2).sqrt_().add_(opt_.eps) : (v_[i].sqrt() / std::sqrt(bc2)).add_(opt_.eps);
  p.addcdiv_(m_[i], denom, -lr_i / bc1);
}

void Adam::step(double lr, const std::vector<at::Tensor>& grads) {
  if (grads.size() != params_.size()) throw RuntimeError("Adam: gradient count does not match the parameters");
  at::NoGradGuard no_grad;
  ++t_;
  const double bc1 = 1.0 - std::pow(opt_.beta1, double(t_)), bc2 = 1.0 - std::pow(opt_.beta2, double(t_));
  for (size_t i = 0; i < params_.size(); ++i)
    if (grads[i].defined()) update(i, grads[i], lr, bc1, bc2);
}

void Adam::step(double lr) {
  std::vector<at::Tensor> grads;
  for (const auto& p : params_) grads.push_back(p.tensor.grad());
  step(lr, grads);
}

void Adam::zero_grad() {
  for (auto& p : params_)
    if (p.tensor.grad().defined()) p.tensor.mutable_grad().reset();
}

std::map<std::string, at::Tensor> Adam::state() const {
  std::map<std::string, at::Tensor> s;
  for (size_t i = 0; i < params_.size(); ++i) {
    s["exp_avg." + params_[i].name] = m_[i];
    s["exp_avg_sq." + params_[i].name] = v_[i];
  }
  return s;
}

void Adam::load_state(const std::map<std::string, at::Tensor>& state, int64_t steps, const std::string& source) {
  at::NoGradGuard no_grad;
  for (auto* which : {&m_, &v_}) {
    const std::string prefix = which == &m_ ? "exp_avg." : "exp_avg_sq.";
    for (size_t i = 0; i < params_.size(); ++i) {
      const std::string key = prefix + params_[i].name;
      const auto it = state.find(key);
      if (it == state.end()) throw InputError(source + ": tensor '" + key + "': missing");
      if (!it->second.sizes().equals((*which)[i].sizes()))
        throw InputError(source + ": tensor '" + key + "': shape does not match the model");
      (*which)[i].copy_(it->second);
    }
  }
  t_ = steps;
}

}  // namespace ps::optim
