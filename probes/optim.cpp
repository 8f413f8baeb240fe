#include "probes/optim.h"

#include <ATen/Parallel.h>

#include <cstring>

namespace ps::probes {

namespace {
std::vector<optim::AdamParam> unnamed(std::vector<at::Tensor> params) {
  std::vector<optim::AdamParam> out;
  for (auto& p : params) out.push_back({"", std::move(p), 1.0, true});
  return out;
}
}  // namespace

Adam::Adam(std::vector<at::Tensor> params, double lr, double weight_decay)
    : adam_(unnamed(std::move(params)), optim::AdamOptions{0.9, 0.999, 1e-8, weight_decay, optim::Decay::l2, false}),
      lr_(lr) {}

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
