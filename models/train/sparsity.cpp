#include "models/train/sparsity.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cstring>

#include "models/intervene/prune.h"
#include "models/intervene/sparsity_spec.h"
#include "models/safetensors/safetensors.h"
#include "models/util/error.h"

namespace ps::train {

namespace {
constexpr uint64_t kSpdfSeed = 0x73706466ull;  // "spdf": the mask's stream, apart from init and data
}

StaticMask StaticMask::draw(const std::map<std::string, at::Tensor>& params, double sparsity, uint64_t seed) {
  if (!(sparsity >= 0 && sparsity < 1)) throw InputError("--sparsity: must lie in [0, 1)");
  StaticMask m;
  const models::MatrixFilter all;  // attention and MLP: equal sparsity in every one (SPDF's uniform distribution)
  for (const auto& [key, p] : params) {
    if (!models::selected(all, key)) continue;
    const auto scores = models::random_scores(p.sizes(), models::tensor_seed(seed ^ kSpdfSeed, key));
    m.masks_[key] = models::lowest_score_masks({scores}, sparsity, false).front().to(at::kFloat);
  }
  if (m.masks_.empty()) throw InputError("--sparsity: the model has no attention or MLP matrices to mask");
  return m;
}

StaticMask StaticMask::load(const std::string& path, const std::map<std::string, at::Tensor>& params) {
  const auto f = st::File::open(path);
  StaticMask m;
  for (const auto& name : f.names()) {
    const auto& info = f.at(name);
    const auto it = params.find(name);
    if (it == params.end()) throw InputError(path + ": tensor '" + name + "': no such parameter");
    if (info.dtype != st::DType::U8 || info.shape != it->second.sizes().vec())
      throw InputError(path + ": tensor '" + name + "': expected a U8 mask of the parameter's shape");
    auto u = at::empty(info.shape, at::kByte);
    if (info.nbytes) std::memcpy(u.data_ptr(), info.data, info.nbytes);
    if (u.gt(1).any().item<bool>()) throw InputError(path + ": tensor '" + name + "': mask values must be 0 or 1");
    m.masks_[name] = u.to(at::kFloat);
  }
  if (m.masks_.empty()) throw InputError(path + ": no masks");
  return m;
}

void StaticMask::save(const std::string& path) const {
  std::vector<st::TensorData> list;
  for (const auto& [k, mask] : masks_) {
    const auto u = mask.to(at::kByte).contiguous();
    list.push_back({k, st::DType::U8, u.sizes().vec(), std::string(reinterpret_cast<const char*>(u.data_ptr()), size_t(u.nbytes()))});
  }
  st::write(path, list, {{"format", "pt"}, {"probescope", "SPDF static sparsity mask (1 = trained, 0 = pruned)"}});
}

void StaticMask::apply_to(const std::map<std::string, at::Tensor>& params) const {
  at::NoGradGuard no_grad;
  for (const auto& [k, mask] : masks_) params.at(k).mul_(mask);
}

void StaticMask::mask_grads(const std::map<std::string, at::Tensor>& params) const {
  at::NoGradGuard no_grad;
  for (const auto& [k, mask] : masks_)
    if (params.at(k).grad().defined()) params.at(k).mutable_grad().mul_(mask);
}

void StaticMask::mask_moments(const std::map<std::string, at::Tensor>& state) const {
  at::NoGradGuard no_grad;
  for (const auto& [k, mask] : masks_)
    for (const char* prefix : {"exp_avg.", "exp_avg_sq."}) {
      const auto it = state.find(prefix + k);
      if (it == state.end()) throw RuntimeError("sparsity: optimizer state has no '" + std::string(prefix) + k + "'");
      it->second.mul_(mask);
    }
}

int64_t StaticMask::masked_numel() const {
  int64_t n = 0;
  for (const auto& [k, mask] : masks_) n += mask.numel();
  return n;
}

int64_t StaticMask::pruned() const {
  int64_t n = 0;
  for (const auto& [k, mask] : masks_) n += mask.numel() - mask.count_nonzero().item<int64_t>();
  return n;
}

FlopsPerToken training_flops_per_token(const models::ArchSpec& arch, int64_t ctx,
                                       const std::map<std::string, at::Tensor>& params) {
  FlopsPerToken f;
  const models::MatrixFilter all;
  for (const auto& [k, p] : params) {
    if (models::selected(all, k)) f.maskable += 6.0 * double(p.numel());
    else if (k == "mlm.dense.weight") f.other_matmul += 6.0 * double(p.numel());
  }
  f.other_matmul += 6.0 * double(arch.vocab_size) * double(arch.d_model);  // the readout, tied or not
  f.attention = 3.0 * double(arch.n_layers) * 4.0 * double(ctx) * double(arch.d_model);
  return f;
}

nlohmann::json flops_report(const FlopsPerToken& f, double sparsity, int64_t sparse_steps, int64_t steps,
                            int64_t tokens_per_step) {
  const double tokens = double(tokens_per_step), dense_step = f.total(1) * tokens, sparse_step = f.total(1 - sparsity) * tokens;
  const double dense_run = dense_step * double(steps);
  const double run = sparse_step * double(sparse_steps) + dense_step * double(steps - sparse_steps);
  const double maskable_dense = f.maskable * tokens * double(steps);
  const double saved = dense_run - run;
  return {{"sparsity", sparsity},
          {"sparse_steps", sparse_steps},
          {"steps", steps},
          {"tokens_per_step", tokens_per_step},
          {"per_token_dense", {{"maskable_matmuls", f.maskable}, {"other_matmuls", f.other_matmul}, {"attention_scores", f.attention}}},
          {"flops_dense_twin", dense_run},
          {"flops_this_run", run},
          {"flops_saved", saved},
          {"saved_share_of_sparse_matmuls", maskable_dense > 0 ? saved / maskable_dense : 0.0},
          {"saved_share_of_total", dense_run > 0 ? saved / dense_run : 0.0},
          {"note", "counted, not measured: the CPU kernels run dense matmuls on zeros; 6 FLOPs per weight and token "
                   "(forward 2, backward 4), attention scores 12 ctx d_model per layer and token, the readout 6 V d"}};
}

}  // namespace ps::train
