#pragma once
// Internal (included by probe .cpp files only): the probes' Adam, i.e. the shared Adam (models/optim/adam.h)
// with torch::optim::Adam's defaults and its L2 weight decay, so probe results stay what they were.
#include <ATen/ATen.h>

#include <vector>

#include "models/optim/adam.h"

namespace ps::probes {

class Adam {
 public:
  Adam(std::vector<at::Tensor> params, double lr, double weight_decay = 0);
  void zero_grad() { adam_.zero_grad(); }
  void step() { adam_.step(lr_); }
  void set_lr(double lr) { lr_ = lr; }

 private:
  optim::Adam adam_;
  double lr_;
};

// Applies a thread count (> 0) to ATen's intra-op pool; 0 leaves the current setting.
void apply_threads(int threads);

// Row-major float vector ↔ tensor copies (the tensor owns its memory).
at::Tensor to_tensor(const std::vector<float>& v, at::IntArrayRef shape);
std::vector<float> to_vector(const at::Tensor& t);

}  // namespace ps::probes
