#include "probes/optim.h"

#include <ATen/Parallel.h>
#include <torch/optim/adam.h>

#include <cstring>

namespace ps::probes {

struct Adam::Impl {
  torch::optim::Adam opt;
  Impl(std::vector<at::Tensor> params, double lr, double wd)
      : opt(std::move(params), torch::optim::AdamOptions(lr).weight_decay(wd)) {}
};

Adam::Adam(std::vector<at::Tensor> params, double lr, double weight_decay)
    : impl_(std::make_unique<Impl>(std::move(params), lr, weight_decay)) {}
Adam::~Adam() = default;

void Adam::zero_grad() { impl_->opt.zero_grad(); }
void Adam::step() { impl_->opt.step(); }

void Adam::set_lr(double lr) {
  for (auto& group : impl_->opt.param_groups())
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
}

void apply_threads(int threads) {
  if (threads > 0) at::set_num_threads(threads);
}

at::Tensor to_tensor(const std::vector<float>& v, at::IntArrayRef shape) {
  at::Tensor t = at::empty(shape, at::kFloat);
  if (static_cast<size_t>(t.numel()) != v.size()) throw std::logic_error("to_tensor: size mismatch");
  if (!v.empty()) std::memcpy(t.data_ptr<float>(), v.data(), v.size() * sizeof(float));
  return t;
}

std::vector<float> to_vector(const at::Tensor& t) {
  at::Tensor c = t.detach().to(at::kFloat).contiguous();
  const float* p = c.data_ptr<float>();
  return std::vector<float>(p, p + c.numel());
}

}  // namespace ps::probes
