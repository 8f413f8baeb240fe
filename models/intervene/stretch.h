#pragma once
// Long-CLIP's knowledge-preserved stretching of a learned absolute position table (Zhang et al. 2024,
// beichenzbc/Long-CLIP model/longclip.py::load_from_clip), generalised from λ = 4 to any integer λ ≥ 1:
// the first k rows are kept (they are the best-trained positions), every later gap between two rows is
// filled with λ−1 linearly interpolated rows, and the last λ rows extrapolate the final step. Length:
// L rows → λL − (λ−1)k rows. Training-free: outputs change only where a position ≥ k is seen.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace ps::models {

struct StretchSpec {
  int64_t keep = 20;   // k: rows kept as they are (the authors' default)
  int64_t factor = 4;  // λ: each later row becomes λ rows (integer ≥ 1)
};

// "keep=20,factor=4" (either key may be left out: the defaults above). InputError naming `setting`.
StretchSpec parse_stretch_spec(const std::string& text, const std::string& setting = "--stretch-positions");

// λL − (λ−1)k; InputError unless 0 ≤ k ≤ L−1, L ≥ 2 and λ ≥ 1.
int64_t stretched_rows(int64_t rows, const StretchSpec& s);

// P [L, D] → [λL − (λ−1)k, D], in P's dtype (computed in float64, so rows that are copies stay bit-exact):
//   new[p]          = P[p]                                      p < k
//   new[k + λi + m] = ((λ − m) P[k+i] + m P[k+i+1]) / λ          i = 0 .. L−k−2, m = 0 .. λ−1
//   new[k + λ(L−k−1) + m] = P[L−1] + m (P[L−1] − P[L−2]) / λ      m = 0 .. λ−1 (linear extrapolation)
at::Tensor stretch_table(const at::Tensor& table, const StretchSpec& s);

// The same for a model's table whose first `offset` rows are not positions (RoBERTa: padding_idx + 1 = 2):
// those rows are left alone and k counts from row `offset`.
at::Tensor stretch_position_table(const at::Tensor& table, int64_t offset, const StretchSpec& s);

}  // namespace ps::models
