#include "models/transformer/detail/rotary.h"

#include <ATen/ATen.h>

#include <cmath>

namespace ps::models {

at::Tensor rope_inv_freq(const ArchSpec& a, int64_t seq_len) {
  const int64_t dim = a.head_dim;
  double base = a.rope_theta;
  if (a.rope_scaling == RopeScaling::Dynamic && seq_len > a.max_position_embeddings) {
    // HF _compute_dynamic_ntk_parameters: grow the base once the sequence exceeds the trained length.
    const double f = a.rope_factor;
    base *= std::pow(f * double(seq_len) / double(a.max_position_embeddings) - (f - 1.0),
                     double(dim) / double(dim - 2));
  }
  const auto exponent = at::arange(0, dim, 2, at::kLong).to(at::kFloat) / double(dim);
  auto inv = 1.0 / at::pow(base, exponent);
  if (a.rope_scaling == RopeScaling::Linear) inv = inv / a.rope_factor;
  if (a.rope_scaling == RopeScaling::Llama3) {
    const double f = a.rope_factor, lo = a.rope_low_freq_factor, hi = a.rope_high_freq_factor;
    const double old_len = double(a.rope_original_max_positions);
    const double lo_wavelen = old_len / lo, hi_wavelen = old_len / hi;
    const auto wavelen = 2.0 * M_PI / inv;
    auto scaled = at::where(wavelen > lo_wavelen, inv / f, inv);
    const auto smooth = (old_len / wavelen - lo) / (hi - lo);
    const auto smoothed = (1.0 - smooth) * scaled / f + smooth * scaled;
    const auto medium = at::logical_and(wavelen >= hi_wavelen, wavelen <= lo_wavelen);
    inv = at::where(medium, smoothed, scaled);
  }
  return inv;
}

std::pair<at::Tensor, at::Tensor> rope_cos_sin(const ArchSpec& a, const at::Tensor& pos, at::ScalarType dtype) {
  const int64_t seq_len = pos.numel() ? pos.max().item<int64_t>() + 1 : 0;
  const auto inv = rope_inv_freq(a, seq_len).to(pos.device());
  const auto freqs = pos.to(at::kFloat).unsqueeze(-1) * inv;  // [B,S,hd/2]
  const auto emb = at::cat({freqs, freqs}, -1);
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  const auto rot = at::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);
  return x * cos.unsqueeze(-2) + rot * sin.unsqueeze(-2);
}

}  // namespace ps::models
