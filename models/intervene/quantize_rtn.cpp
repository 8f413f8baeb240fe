#include "models/intervene/quantize_rtn.h"

#include <ATen/ATen.h>

#include <cmath>

#include "models/util/error.h"

namespace ps::models {

QuantGrid minmax_grid(const at::Tensor& w_in, int bits, bool per_channel, bool symmetric) {
  if (bits < 2 || bits > 8) throw InputError("quantize: bits=" + std::to_string(bits) + " outside 2..8");
  if (w_in.dim() != 2) throw InputError("quantize: expected a [out, in] weight");
  const auto w = w_in.to(at::kFloat);
  at::Tensor lo, hi;
  if (per_channel) {
    lo = std::get<0>(w.min(1, true)), hi = std::get<0>(w.max(1, true));
  } else {
    lo = w.min().reshape({1, 1}), hi = w.max().reshape({1, 1});
  }
  lo = at::clamp_max(lo, 0.0), hi = at::clamp_min(hi, 0.0);
  const double levels = double((int64_t(1) << bits) - 1);
  const auto s0 = at::clamp_min(symmetric ? 2.0 * at::maximum(hi, lo.abs()) / levels : (hi - lo) / levels, 1e-8);
  QuantGrid g;
  g.bits = bits, g.symmetric = symmetric;
  // δ1 = log s0, raised by ulps until exp(δ1) ≥ s0 (a few steps at most), through the same at::exp call
  // FlexRound makes on a tensor of this shape, so both see the same scale.
  auto d1 = at::log(s0);
  for (int i = 0; i < 64; ++i) {
    const auto low = at::exp(d1) < s0;
    if (!low.any().item<bool>()) break;
    d1 = at::where(low, at::nextafter(d1, at::full_like(d1, INFINITY)), d1);
  }
  g.log_scale = d1.contiguous();
  g.scale = at::exp(g.log_scale);
  g.zero_point = symmetric ? at::zeros_like(g.scale) : at::clamp(-at::round(lo / g.scale), 0.0, levels);
  return g;
}

at::Tensor quantize_codes(const at::Tensor& w, const QuantGrid& g) {
  const auto x = at::round(w.to(at::kFloat) / g.scale) + g.zero_point;
  return at::clamp(x, double(g.code_min()), double(g.code_max()));
}

at::Tensor dequantize(const at::Tensor& codes, const QuantGrid& g) { return (codes - g.zero_point) * g.scale; }

QuantizedWeight rtn_quantize(const at::Tensor& w, int bits, bool per_channel, bool symmetric) {
  QuantizedWeight q;
  q.grid = minmax_grid(w, bits, per_channel, symmetric);
  q.codes = quantize_codes(w, q.grid);
  q.dequant = dequantize(q.codes, q.grid);
  return q;
}

}  // namespace ps::models
