#include "models/intervene/prune.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <limits>

#include "models/config/weights_map.h"
#include "models/intervene/tensor_data.h"
#include "models/util/error.h"

namespace ps::models {

int64_t pruned_count(int64_t numel, double sparsity) { return int64_t(std::llround(sparsity * double(numel))); }

uint64_t tensor_seed(uint64_t seed, const std::string& name) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  h ^= seed + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h;
}

at::Tensor random_scores(at::IntArrayRef shape, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::empty(shape, at::kFloat).uniform_(0.0, 1.0, gen);
}

std::vector<at::Tensor> lowest_score_masks(const std::vector<at::Tensor>& scores, double sparsity, bool global,
                                           double* threshold) {
  // Indices of the k lowest entries of a flat score vector (stable: equal scores go by position).
  auto keep_of = [](const at::Tensor& flat, int64_t k, double* largest) {
    auto keep = at::ones({flat.numel()}, at::kBool);
    if (k > 0) {
      const auto order = std::get<1>(at::sort(flat, /*stable=*/true, /*dim=*/0, /*descending=*/false));
      const auto pruned = order.slice(0, 0, k);
      keep.index_fill_(0, pruned, false);
      if (largest) *largest = std::max(*largest, flat.index_select(0, pruned).max().item<double>());
    }
    return keep;
  };
  double largest = -std::numeric_limits<double>::infinity();
  std::vector<at::Tensor> out;
  if (!global) {
    for (const auto& s : scores) {
      const auto flat = s.reshape({-1}).to(at::kFloat);
      out.push_back(keep_of(flat, pruned_count(flat.numel(), sparsity), &largest).view(s.sizes()));
    }
  } else if (!scores.empty()) {
    std::vector<at::Tensor> flats;
    for (const auto& s : scores) flats.push_back(s.reshape({-1}).to(at::kFloat));
    const auto all = at::cat(flats);
    const auto keep = keep_of(all, pruned_count(all.numel(), sparsity), &largest);
    int64_t at = 0;
    for (const auto& s : scores) {
      out.push_back(keep.slice(0, at, at + s.numel()).view(s.sizes()).clone());
      at += s.numel();
    }
  }
  if (threshold) *threshold = largest;
  return out;
}

std::vector<SelectedMatrix> selected_matrices(const ArchSpec& arch, const std::vector<std::string>& names,
                                              const std::string& source, const MatrixFilter& filter) {
  std::vector<SelectedMatrix> out;
  for (const auto& r : resolve_weights(arch, names, source))
    if (!r.name.empty() && selected(filter, r.spec.key)) out.push_back({r.name, r.spec.key});
  return out;
}

nlohmann::ordered_json prune_step(const ArchSpec& arch, std::map<std::string, st::TensorData>& tensors,
                                  const std::string& source, const PruneSpec& spec) {
  std::vector<std::string> names;
  for (const auto& [n, t] : tensors) names.push_back(n);
  const auto chosen = selected_matrices(arch, names, source, spec.filter);
  if (chosen.empty()) throw InputError("--prune: " + source + " has no " + spec.filter.describe() + " matrices");
  std::vector<at::Tensor> weights, scores;
  for (const auto& m : chosen) {
    weights.push_back(tensor_of(tensors.at(m.name)));
    scores.push_back(spec.method == PruneSpec::Method::Magnitude
                         ? weights.back().abs().to(at::kFloat)
                         : random_scores(weights.back().sizes(), tensor_seed(spec.seed, m.name)));
  }
  double threshold = 0;
  const auto masks = lowest_score_masks(scores, spec.sparsity, spec.global, &threshold);
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  int64_t numel = 0, zeros = 0;
  for (size_t i = 0; i < chosen.size(); ++i) {
    const auto pruned = weights[i].masked_fill(masks[i].logical_not(), 0);
    store_into(tensors.at(chosen[i].name), pruned);
    const int64_t n = pruned.numel(), z = n - pruned.count_nonzero().item<int64_t>();
    numel += n, zeros += z;
    list.push_back({{"name", chosen[i].name}, {"key", chosen[i].key}, {"shape", pruned.sizes().vec()},
                    {"numel", n}, {"zeros", z}, {"sparsity", double(z) / double(n)}});
  }
  nlohmann::ordered_json step = {{"kind", "prune"}, {"spec", spec.text}, {"method", spec.method_name()},
                                 {"sparsity", spec.sparsity}, {"scope", spec.global ? "global" : "layer"},
                                 {"filter", spec.filter.describe()}};
  if (spec.method == PruneSpec::Method::Random) step["seed"] = spec.seed;
  step["mask"] = spec.method == PruneSpec::Method::Random
                     ? "exactly round(s*numel) lowest uniform random scores (SPDF's static random mask)"
                     : "exactly round(s*numel) smallest |w| (ties by position)";
  if (spec.global) step["mask"] = std::string(step["mask"]) + ", ranked over all selected tensors together";
  if (spec.global && spec.method == PruneSpec::Method::Magnitude) step["global_threshold_abs"] = threshold;
  step["overall"] = {{"numel", numel}, {"zeros", zeros}, {"sparsity", numel ? double(zeros) / double(numel) : 0.0}};
  step["tensors"] = list;
  return step;
}

}  // namespace ps::models
