#include "probes/control.h"

#include <algorithm>
#include <map>

#include "models/util/error.h"
#include "probes/linear.h"
#include "probes/fit_loop.h"

namespace ps::probes {

ControlTask::ControlTask(const std::vector<int32_t>& reference_labels, int n_labels, uint64_t seed) : seed_(seed) {
  if (n_labels <= 0 || reference_labels.empty()) throw InputError("control task: no reference labels");
  std::vector<double> counts(n_labels, 0.0);
  for (int32_t l : reference_labels) {
    if (l < 0 || l >= n_labels) throw InputError("control task: label id " + std::to_string(l) + " out of range");
    counts[l] += 1;
  }
  cdf_.resize(n_labels);
  double acc = 0;
  for (int i = 0; i < n_labels; ++i) cdf_[i] = (acc += counts[i] / static_cast<double>(reference_labels.size()));
}

int32_t ControlTask::label(int32_t word_type) const {
  const double x = static_cast<double>(mix64(seed_ ^ mix64(static_cast<uint64_t>(static_cast<uint32_t>(word_type)))) >> 11) * 0x1.0p-53;
  const auto it = std::upper_bound(cdf_.begin(), cdf_.end(), x);
  return static_cast<int32_t>(std::min<ptrdiff_t>(it - cdf_.begin(), static_cast<ptrdiff_t>(cdf_.size()) - 1));
}

std::vector<int32_t> ControlTask::relabel(const std::vector<int32_t>& word_types) const {
  std::vector<int32_t> out(word_types.size());
  for (size_t i = 0; i < word_types.size(); ++i) out[i] = label(word_types[i]);
  return out;
}

namespace {

// Permutation of 0..n-1 fixing `keep` (if in range), seeded by (seed, salt, type).
class PermutationTable {
 public:
  PermutationTable(int n, int32_t keep, uint64_t seed, uint64_t salt) : n_(n), keep_(keep), seed_(mix64(seed ^ salt)) {}
  int32_t map(int32_t type, int32_t label) {
    auto it = perms_.find(type);
    if (it == perms_.end()) {
      std::vector<int32_t> movable;
      for (int32_t l = 0; l < n_; ++l)
        if (l != keep_) movable.push_back(l);
      Rng rng(mix64(seed_ ^ static_cast<uint64_t>(static_cast<uint32_t>(type))));
      const std::vector<int> p = rng.permutation(static_cast<int>(movable.size()));
      std::vector<int32_t> perm(n_);
      for (int32_t l = 0; l < n_; ++l) perm[l] = l;
      for (size_t i = 0; i < movable.size(); ++i) perm[movable[i]] = movable[p[i]];
      it = perms_.emplace(type, std::move(perm)).first;
    }
    return it->second[label];
  }

 private:
  int n_;
  int32_t keep_;
  uint64_t seed_;
  std::map<int32_t, std::vector<int32_t>> perms_;
};

}  // namespace

ProbeDataset shuffle_labels_by_token_type(const ProbeDataset& ds, const std::vector<std::vector<int32_t>>& token_types,
                                          int32_t c_empty, int32_t u_empty, uint64_t seed) {
  if (token_types.size() != ds.samples.size())
    throw InputError("label control: token_types has " + std::to_string(token_types.size()) + " samples, dataset " +
                     std::to_string(ds.samples.size()));
  PermutationTable pc(ds.n_c_labels, c_empty, seed, 0x63), pu(ds.n_u_labels, u_empty, seed, 0x75);
  ProbeDataset out = ds;
  for (size_t s = 0; s < out.samples.size(); ++s) {
    ProbeSample& x = out.samples[s];
    const auto& types = token_types[s];
    if (types.size() != static_cast<size_t>(x.n_words))
      throw InputError("label control: sample " + std::to_string(s) + ": token_types length differs from n_words");
    for (size_t i = 0; i < x.u.size(); ++i) {
      if (x.u[i] < 0 || x.u[i] >= ds.n_u_labels || (i < x.c.size() && (x.c[i] < 0 || x.c[i] >= ds.n_c_labels)))
        throw InputError("label control: sample " + std::to_string(s) + ": label id out of range");
      x.u[i] = pu.map(types[i], x.u[i]);
      if (i < x.c.size()) x.c[i] = pc.map(types[i], x.c[i]);
    }
  }
  return out;
}

}  // namespace ps::probes
