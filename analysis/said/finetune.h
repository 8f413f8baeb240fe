#pragma once
// Fine-tuning a classifier three ways on the same task, head and data order (Aghajanyan et al., arXiv
// 2012.13255; spec: /work/shared/specs/methods.md "Intrinsic dimension of fine-tuning"):
//   full  every tensor of θ is trained directly (the baseline d90 is measured against);
//   did   θ = θ0 + P(θ_d): only θ_d ∈ R^d (starts at 0) is trained;
//   said  θ_t = θ0_t + λ_t P_t(θ_d): θ_d and one scale λ_t per tensor (starts at 1) are trained.
// θ is every base-model tensor that reaches the pooled final hidden states (LM heads are not part of it)
// plus the classification head (head.weight [C, d_model] ~ N(0, initializer_range), head.bias = 0),
// which, as in the paper, is trained through the projection too (Head::Projected): d counts θ_d only; SAID
// adds m = number of tensors λ's; nothing else is trained. Head::Direct trains the head's tensors directly
// instead (trainable = d [+ m] + head size), i.e. a linear probe plus a d-dimensional model update.
// Gradients: one backward gives ∂L/∂θ_t; the chain rule through the linear map is exact:
//   ∂L/∂θ_d = Σ_t λ_t P_tᵀ ∂L/∂θ_t,  ∂L/∂λ_t = ⟨∂L/∂θ_t, P_t θ_d⟩   (P_tᵀ by the transposed Fastfood).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "analysis/said/classifier.h"
#include "analysis/said/fastfood.h"
#include "analysis/said/tasks.h"
#include "models/transformer/transformer.h"
#include "models/util/progress.h"

namespace ps::said {

enum class Mode { Full, DID, SAID };
Mode mode_from_name(const std::string& name);  // "full" | "did" | "said"
const char* mode_name(Mode m);
enum class Head { Projected, Direct };
Head head_from_name(const std::string& name);  // "projected" | "direct"
const char* head_name(Head h);

using Named = std::vector<std::pair<std::string, at::Tensor>>;

// θ0: the model's tensors that fine-tuning may change (see above), canonical names, then the head.
Named initial_theta(const models::Transformer& model, int64_t n_classes, uint64_t seed);

// The reparametrisation θ_t = θ0_t + λ_t P_t(θ_d) over a list of tensors (DID: λ ≡ 1).
class Subspace {
 public:
  Subspace(Named theta0, int64_t d, uint64_t seed);
  const Fastfood& projection() const { return ff_; }
  const Named& theta0() const { return theta0_; }
  // θ_t for every tensor, and Δθ_t = P_t θ_d (needed for ∂/∂λ). lambda: [m] or undefined (= ones).
  std::vector<at::Tensor> weights(const at::Tensor& theta_d, const at::Tensor& lambda,
                                  std::vector<at::Tensor>* delta = nullptr) const;
  // Chain rule from ∂L/∂θ_t (undefined = 0) to ∂L/∂θ_d ([d]) and, if g_lambda != nullptr, ∂L/∂λ ([m]).
  at::Tensor backward(const std::vector<at::Tensor>& grads, const std::vector<at::Tensor>& delta,
                      const at::Tensor& lambda, at::Tensor* g_lambda) const;

 private:
  Named theta0_;
  Fastfood ff_;
};

struct FinetuneOptions {
  Mode mode = Mode::SAID;
  int64_t d = 1000;              // ignored for full
  Head head = Head::Projected;
  Pool pool = Pool::Mean;
  int64_t steps = 200, batch = 16;
  // Adam learning rate: every tensor for full; λ and a direct head as given; θ_d gets lr/√d when scale_lr.
  // Adam moves each coordinate by about its rate per step, so one fixed rate would make the step ‖Δθ_d‖ —
  // and with it ‖Δθ_t‖ ≈ ‖θ_d‖ — grow as √d: d = 10 and d = 10⁵ would differ 100× in step size.
  double lr = 0.05;
  bool scale_lr = true;
  uint64_t seed = 123;           // projection, head initialisation and data order
  int64_t eval_every = 0;        // validation accuracy every N steps as well as at the end (0 = end only)
  int64_t eval_batch = 32;
};

struct RunResult {
  Mode mode = Mode::Full;
  int64_t d = 0;                 // 0 for full
  int64_t trainable = 0;         // numbers actually trained
  int64_t theta_size = 0;        // D = elements of θ (model tensors + head)
  int64_t steps = 0;             // steps run (fewer than asked if cancelled)
  bool cancelled = false;
  double valid_acc = 0;          // after the last step
  double best_valid_acc = 0;     // max over the evaluations
  double initial_valid_acc = 0;  // θ0, before any step
  double train_loss = 0;         // mean loss over the last 10% of steps
  double seconds = 0, seconds_per_step = 0;  // training only (evaluations excluded)
  std::vector<double> losses;    // per step
  std::vector<std::pair<int64_t, double>> evals;  // (step, validation accuracy)
};

// Runs one fine-tuning of `model` (its weights are θ0's model part; never modified) on data.
// progress: advanced once per step; cancel() stops at the next step (result.cancelled).
RunResult finetune(const std::shared_ptr<const models::Transformer>& model, const TaskData& data,
                   const FinetuneOptions& opt, Progress* progress = nullptr);

}  // namespace ps::said
