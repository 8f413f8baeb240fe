#pragma once
// Round-to-nearest weight quantisation on a uniform affine grid, as FlexRound initialises it (official
// robotseye/FlexRound_LRQ quant/UniformAffineQuantizer.py calculate_qparams; spec interventions.md §5(a)),
// per output channel (a row of a [out, in] weight) or per tensor, b = 2..8 bits:
//   asymmetric: s = (max⁺ − min⁻)/(2^b − 1), zp = clamp(−round(min⁻/s), 0, 2^b − 1),
//               code = clamp(round(W/s) + zp, 0, 2^b − 1)
//   symmetric:  s = 2·max(|min⁻|, max⁺)/(2^b − 1), zp = 0, code = clamp(round(W/s), −2^(b−1), 2^(b−1) − 1)
//   Q(W) = (code − zp)·s
// with min⁻ = min(min, 0), max⁺ = max(max, 0) and s ≥ 1e-8. FlexRound learns log s, so the scale is kept as
// exp(δ1) for the smallest float32 δ1 whose exp is ≥ the min/max scale: FlexRound at initialisation is then
// RTN bit for bit, and the grid still covers [min, max] (|W − Q(W)| ≤ s/2 there).
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace ps::models {

struct QuantGrid {
  int bits = 4;
  bool symmetric = false;
  at::Tensor log_scale;   // δ1: [out, 1] per channel, [1, 1] per tensor, float32
  at::Tensor scale;       // exp(log_scale), same shape
  at::Tensor zero_point;  // same shape, float32 holding integers (0 when symmetric)
  int64_t code_min() const { return symmetric ? -(int64_t(1) << (bits - 1)) : 0; }
  int64_t code_max() const { return symmetric ? (int64_t(1) << (bits - 1)) - 1 : (int64_t(1) << bits) - 1; }
};

// A quantised weight in the model's [out, in] layout.
struct QuantizedWeight {
  QuantGrid grid;
  at::Tensor codes;    // float32 holding integers in [code_min, code_max]
  at::Tensor dequant;  // (codes − zp)·s, float32
};

// The grid of w [out, in] (any float dtype; computed in float32). bits outside 2..8 → InputError.
QuantGrid minmax_grid(const at::Tensor& w, int bits, bool per_channel, bool symmetric);
at::Tensor quantize_codes(const at::Tensor& w, const QuantGrid& grid);
at::Tensor dequantize(const at::Tensor& codes, const QuantGrid& grid);
QuantizedWeight rtn_quantize(const at::Tensor& w, int bits, bool per_channel, bool symmetric);

}  // namespace ps::models
