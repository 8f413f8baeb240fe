#pragma once
// Rescaling of a layer's vectors before probing, with statistics from the train split only:
//   none         x as stored;
//   scale        x · s, one scalar per layer so the mean squared coordinate over the train words is 1
//                (unit RMS per coordinate). Adam moves each weight by about lr per step, so without it a
//                layer's probe learns at a speed set by the layer's norm (small-norm layers under-train);
//   standardize  (x − μ_j) / σ_j per coordinate j (σ_j = 0 → 1): also tames a few rogue dimensions.
// The map is saved with every probe (probe files) so a probe is always applied to the vectors it saw.
#include <cstdint>
#include <string>
#include <vector>

namespace ps::probes {

enum class NormalizeMode { none, scale, standardize };
const char* normalize_name(NormalizeMode m);
NormalizeMode parse_normalize(const std::string& text);  // InputError naming --normalize otherwise

// x' = (x − shift) · scale, per coordinate; shift empty = 0; scale has 1 (every coordinate) or dim values.
struct Normalization {
  NormalizeMode mode = NormalizeMode::none;
  std::vector<float> shift;
  std::vector<float> scale;
  bool identity() const { return shift.empty() && scale.empty(); }
  // In place on n_rows × dim row-major floats. InputError when dim disagrees with the statistics.
  void apply(float* rows, int64_t n_rows, int dim) const;
  void apply(std::vector<float>& rows, int dim) const;
};

// Statistics over the rows of `blocks` (each row-major with `dim` columns), accumulated in double.
Normalization fit_normalization(NormalizeMode mode, const std::vector<const std::vector<float>*>& blocks, int dim);

}  // namespace ps::probes
