#pragma once
// The pieces every fine-tuning run shares: padded batches, the classification head on pooled final hidden
// states, accuracy, and a plain Adam. Kept apart from the subspace logic so full fine-tuning and SAID/DID run
// the very same forward.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/said/tasks.h"
#include "models/optim/adam.h"
#include "models/transformer/transformer.h"

namespace ps::said {

enum class Pool { Mean, First, Last };  // over the sequence's own tokens of hidden_states[n_layers]
Pool pool_from_name(const std::string& name);  // "mean" | "first" | "last"; InputError otherwise
const char* pool_name(Pool p);

struct Batch {
  at::Tensor ids;        // [B,S] int64, right-padded with 0
  at::Tensor mask;       // [B,S,S] bool: key < length, and causal for decoders
  at::Tensor lengths;    // [B] int64
  at::Tensor labels;     // [B] int64
};
Batch make_batch(const std::vector<Example>& xs, const std::vector<size_t>& which, bool causal, at::Device device);

// Head parameters: "head.weight" [C, d_model] ~ N(0, initializer_range) from seed, "head.bias" [C] = 0.
std::vector<std::pair<std::string, at::Tensor>> init_head(const models::ArchSpec& arch, int64_t n_classes,
                                                          uint64_t seed, at::Device device);

// logits [B, C] = pool(hidden_states[n_layers]) · Wᵀ + b. autograd = keep the graph through the weights.
at::Tensor classify(const models::Transformer& model, const at::Tensor& head_w, const at::Tensor& head_b,
                    const Batch& batch, Pool pool, bool autograd);

// Fraction of xs classified correctly (batches of `batch` examples, no graph).
double accuracy(const models::Transformer& model, const at::Tensor& head_w, const at::Tensor& head_b,
                const std::vector<Example>& xs, Pool pool, int64_t batch);

// Adam with one learning rate per tensor: the shared Adam (models/optim/adam.h) with the bias correction
// inside the square root, as SAID has always computed it; updates the tensors in place (no graph).
class Adam {
 public:
  Adam(std::vector<at::Tensor> params, std::vector<double> lrs, double beta1 = 0.9, double beta2 = 0.999,
       double eps = 1e-8);
  void step(const std::vector<at::Tensor>& grads) { adam_.step(1.0, grads); }  // undefined gradient: left as is
  const std::vector<at::Tensor>& params() const { return params_; }

 private:
  std::vector<at::Tensor> params_;
  optim::Adam adam_;
};

}  // namespace ps::said
