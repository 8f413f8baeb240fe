#pragma once
// Internal (included by probe .cpp files only): torch::optim::Adam behind an ATen-only interface, so
// a single translation unit pays for the torch/optim headers.
#include <ATen/ATen.h>

#include <memory>
#include <vector>

namespace ps::probes {

class Adam {
 public:
  Adam(std::vector<at::Tensor> params, double lr, double weight_decay = 0);
  ~Adam();
  void zero_grad();
  void step();
  void set_lr(double lr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Applies a thread count (> 0) to ATen's intra-op pool; 0 leaves the current setting.
void apply_threads(int threads);

// Row-major float vector ↔ tensor copies (the tensor owns its memory).
at::Tensor to_tensor(const std::vector<float>& v, at::IntArrayRef shape);
std::vector<float> to_vector(const at::Tensor& t);

}  // namespace ps::probes
