#pragma once
// Unstructured pruning of a checkpoint's block matrices (--prune), and the exact-count masks SPDF's sparse
// pre-training shares (models/train/sparsity.h). A mask prunes exactly round(s * numel) entries: the lowest
// scores, ties broken by position (a stable sort), so the count never depends on the values; random scores
// + this top-k is Cerebras' "random" init (never a Bernoulli(1 - s) draw, whose count varies).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/config/arch.h"
#include "models/intervene/sparsity_spec.h"
#include "models/safetensors/safetensors.h"

namespace ps::models {

int64_t pruned_count(int64_t numel, double sparsity);  // round(s * numel)

// A seed per tensor (FNV-1a of the name mixed with seed): masks do not depend on which other tensors exist.
uint64_t tensor_seed(uint64_t seed, const std::string& name);
// Uniform [0, 1) float32 scores from their own generator (the global one is not touched).
at::Tensor random_scores(at::IntArrayRef shape, uint64_t seed);

// Keep masks (bool, each the shape of its scores): pruned_count(numel, s) lowest scores of each tensor are
// false; with global, pruned_count(total, s) lowest over all tensors together. threshold (if given) gets
// the largest pruned score (-inf when nothing is pruned).
std::vector<at::Tensor> lowest_score_masks(const std::vector<at::Tensor>& scores, double sparsity, bool global,
                                           double* threshold = nullptr);

// The checkpoint names and canonical keys of the block matrices filter selects, in checkpoint order.
struct SelectedMatrix {
  std::string name, key;
};
std::vector<SelectedMatrix> selected_matrices(const ArchSpec& arch, const std::vector<std::string>& names,
                                              const std::string& source, const MatrixFilter& filter);

// Prunes the selected matrices among tensors (HF names → raw data; modified in place); returns the
// record step for probescope_intervention.json (spec, per-tensor numel/zeros/sparsity, overall, threshold).
nlohmann::ordered_json prune_step(const ArchSpec& arch, std::map<std::string, st::TensorData>& tensors,
                                  const std::string& source, const PruneSpec& spec);

}  // namespace ps::models
