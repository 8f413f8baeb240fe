#pragma once
// The one Adam (Kingma & Ba, with bias correction) behind LM training (train::AdamW), the probes and SAID
// fine-tuning, with a learning-rate scale and a weight-decay switch per tensor. Each user's historical
// update is an option, so moving onto this class changed no result bit for bit:
//   train  AdamW: decoupled decay on matrices, sqrt(v)/sqrt(1-b2^t) + eps   (torch.optim.AdamW)
//   probes Adam:  L2 decay (g += wd p),       sqrt(v)/sqrt(1-b2^t) + eps   (torch::optim::Adam)
//   said   Adam:  no decay,                    sqrt(v/(1-b2^t)) + eps       (correct_inside_sqrt)
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ps::optim {

enum class Decay {
  decoupled,  // p <- p (1 - lr wd) before the update (AdamW)
  l2,         // g <- g + wd p before the moments (classic Adam weight decay)
};

struct AdamOptions {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0;  // applied to tensors whose AdamParam::decay is set
  Decay decay = Decay::decoupled;
  bool correct_inside_sqrt = false;  // denominator sqrt(v / (1 - b2^t)) + eps instead of sqrt(v) / sqrt(1 - b2^t) + eps
};

struct AdamParam {
  std::string name;     // checkpoint key ("exp_avg.<name>"); may be "" when state() is not used
  at::Tensor tensor;    // updated in place, outside autograd
  double lr_scale = 1;  // this tensor's learning rate is lr * lr_scale
  bool decay = true;    // weight_decay applies to this tensor
};

class Adam {
 public:
  Adam(std::vector<AdamParam> params, AdamOptions opt);
  // One update from each tensor's .grad(), or from `grads` (one per tensor, same order). A tensor whose
  // gradient is undefined is left as it is this step; the step count is shared by all tensors.
  void step(double lr);
  void step(double lr, const std::vector<at::Tensor>& grads);
  void zero_grad();  // drops every tensor's .grad()
  int64_t steps() const { return t_; }
  size_t size() const { return params_.size(); }

  // State for checkpoints: "exp_avg.<name>", "exp_avg_sq.<name>" tensors and the step count.
  std::map<std::string, at::Tensor> state() const;
  // InputError naming `source` and the tensor when one is missing or has another shape.
  void load_state(const std::map<std::string, at::Tensor>& state, int64_t steps, const std::string& source);

 private:
  void update(size_t i, const at::Tensor& grad, double lr, double bc1, double bc2);
  std::vector<AdamParam> params_;
  std::vector<at::Tensor> m_, v_;
  AdamOptions opt_;
  int64_t t_ = 0;
};

}  // namespace ps::optim
