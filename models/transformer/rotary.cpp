#include "models/transformer/detail/rotary.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "models/transformer/detail/rope_kernel.h"

namespace ps::models {

namespace {

// A hand-built ArchSpec may leave rope_original_max_positions 0: the model's own length then.
int64_t trained_length(const ArchSpec& a) {
  return a.rope_original_max_positions > 0 ? a.rope_original_max_positions : a.max_position_embeddings;
}

// θ_i = base^(−2i/d), i = 0..d/2−1 (HF: 1 / base^(arange(0, d, 2) / d)).
std::vector<double> default_inv_freq(double base, int64_t dim) {
  std::vector<double> inv(size_t(dim / 2));
  for (int64_t i = 0; i < dim / 2; ++i) inv[size_t(i)] = 1.0 / std::pow(base, double(2 * i) / double(dim));
  return inv;
}

// YaRN: dimensions below `low` keep θ_i (extrapolate), above `high` take θ_i/s (interpolate), a linear ramp between.
std::vector<double> yarn_inv_freq(const ArchSpec& a) {
  const int64_t d = a.head_dim;
  const double base = a.rope_theta, s = a.rope_factor, L = double(trained_length(a));
  auto correction_dim = [&](double rotations) { return double(d) * std::log(L / (rotations * 2 * M_PI)) / (2 * std::log(base)); };
  double low = correction_dim(a.rope_beta_fast), high = correction_dim(a.rope_beta_slow);
  if (a.rope_truncate) low = std::floor(low), high = std::ceil(high);
  low = std::max(low, 0.0), high = std::min(high, double(d - 1));
  if (low == high) high += 0.001;  // HF: prevent a singular ramp
  auto inv = default_inv_freq(base, d);
  for (size_t i = 0; i < inv.size(); ++i) {
    const double ramp = std::clamp((double(i) - low) / (high - low), 0.0, 1.0);  // 1 = fully interpolated
    inv[i] = inv[i] / s * ramp + inv[i] * (1.0 - ramp);
  }
  return inv;
}

// Llama 3.1: long wavelengths (> L_o/low_ff) divided by s, short ones (< L_o/high_ff) kept, smoothed between.
std::vector<double> llama3_inv_freq(const ArchSpec& a) {
  const double s = a.rope_factor, lo = a.rope_low_freq_factor, hi = a.rope_high_freq_factor;
  const double old_len = double(trained_length(a));
  const double lo_wavelen = old_len / lo, hi_wavelen = old_len / hi;
  auto inv = default_inv_freq(a.rope_theta, a.head_dim);
  for (double& f : inv) {
    const double wavelen = 2 * M_PI / f;
    if (wavelen > lo_wavelen) {
      f /= s;
    } else if (wavelen >= hi_wavelen) {
      const double smooth = (old_len / wavelen - lo) / (hi - lo);
      f = (1.0 - smooth) * f / s + smooth * f;
    }
  }
  return inv;
}

}  // namespace

bool rope_depends_on_length(const ArchSpec& a) {
  return a.rope_scaling == RopeScaling::Dynamic || a.rope_scaling == RopeScaling::Clex ||
         a.rope_scaling == RopeScaling::LongRope;
}

std::vector<double> rope_inv_freq_values(const ArchSpec& a, int64_t seq_len) {
  const int64_t d = a.head_dim, Li = trained_length(a);
  const double L = double(Li);
  switch (a.rope_scaling) {
    case RopeScaling::None: break;
    case RopeScaling::Linear: {  // θ/s ≡ positions / s
      auto inv = default_inv_freq(a.rope_theta, d);
      for (double& f : inv) f /= a.rope_factor;
      return inv;
    }
    case RopeScaling::Dynamic: {  // HF _compute_dynamic_ntk_parameters at n = max(seq_len, L)
      const double n = std::max(double(seq_len), L), s = a.rope_factor;
      return default_inv_freq(a.rope_theta * std::pow(s * n / L - (s - 1.0), double(d) / double(d - 2)), d);
    }
    case RopeScaling::Clex: {  // CLEX with W_down = 0: NTK at α = 2t − 1, t = ceil(n / L) in [1, max_factor]
      const int64_t t = std::clamp<int64_t>((seq_len + Li - 1) / Li, 1, a.rope_max_factor);
      if (t == 1) break;
      return default_inv_freq(a.rope_theta * std::pow(double(2 * t - 1), double(d) / double(d - 2)), d);
    }
    case RopeScaling::Yarn: return yarn_inv_freq(a);
    case RopeScaling::Llama3: return llama3_inv_freq(a);
    case RopeScaling::LongRope: {  // per-dimension factors, the long set once the sequence passes L_o
      const auto& ext = seq_len > Li ? a.rope_long_factor : a.rope_short_factor;
      auto inv = default_inv_freq(a.rope_theta, d);
      for (size_t i = 0; i < inv.size() && i < ext.size(); ++i) inv[i] /= ext[i];
      return inv;
    }
  }
  return default_inv_freq(a.rope_theta, d);
}

at::Tensor rope_inv_freq(const ArchSpec& a, int64_t seq_len) {
  const auto v = rope_inv_freq_values(a, seq_len);
  return at::tensor(v, at::kDouble).to(at::kFloat);
}

namespace {

// cos/sin of positions [...] (double) times inv [hd/2] or [..., hd/2] (double), with the attention factor.
std::pair<at::Tensor, at::Tensor> cos_sin_from(const ArchSpec& a, const at::Tensor& pos, const at::Tensor& inv,
                                               at::ScalarType dtype) {
  const auto freqs = pos.to(at::kDouble).unsqueeze(-1) * inv;  // [..., hd/2]
  const auto emb = at::cat({freqs, freqs}, -1);
  auto cos = emb.cos(), sin = emb.sin();
  if (a.rope_attention_factor != 1.0) cos = cos * a.rope_attention_factor, sin = sin * a.rope_attention_factor;
  return {cos.to(dtype), sin.to(dtype)};
}

}  // namespace

std::pair<at::Tensor, at::Tensor> rope_cos_sin_for_sequence(const ArchSpec& a, const at::Tensor& pos, int64_t seq_len,
                                                            at::ScalarType dtype) {
  const auto inv = at::tensor(rope_inv_freq_values(a, seq_len), at::kDouble).to(pos.device());
  return cos_sin_from(a, pos, inv, dtype);
}

std::pair<at::Tensor, at::Tensor> rope_cos_sin(const ArchSpec& a, const at::Tensor& pos, at::ScalarType dtype,
                                               const std::vector<int64_t>& lengths) {
  if (!rope_depends_on_length(a) || pos.numel() == 0) return rope_cos_sin_for_sequence(a, pos, 0, dtype);
  // One inv_freq row per token, from the sequence it belongs to.
  const auto p_cpu = pos.to(at::kCPU).contiguous().view(-1);
  const auto* p = p_cpu.data_ptr<int64_t>();
  const int64_t N = p_cpu.numel(), row = lengths.empty() ? (pos.dim() ? pos.size(-1) : 1) : N;
  const int64_t half = a.head_dim / 2;
  auto table = at::empty({N, half}, at::kDouble);
  auto* tab = table.data_ptr<double>();
  std::map<int64_t, std::vector<double>> by_len;  // this call's cache only
  auto fill = [&](int64_t begin, int64_t end) {
    if (begin >= end) return;
    const int64_t seq_len = *std::max_element(p + begin, p + end) + 1;
    auto it = by_len.find(seq_len);
    if (it == by_len.end()) it = by_len.emplace(seq_len, rope_inv_freq_values(a, seq_len)).first;
    for (int64_t t = begin; t < end; ++t) std::copy(it->second.begin(), it->second.end(), tab + t * half);
  };
  if (!lengths.empty()) {
    int64_t t = 0;
    for (int64_t n : lengths) fill(t, std::min(N, t + n)), t += n;
  } else {
    for (int64_t r = 0; r < N; r += row) {
      int64_t begin = r;
      for (int64_t t = r + 1; t <= r + row; ++t)
        if (t == r + row || p[t] <= p[t - 1]) fill(begin, t), begin = t;
    }
  }
  auto shape = pos.sizes().vec();
  shape.push_back(half);
  return cos_sin_from(a, pos, table.view(shape).to(pos.device()), dtype);
}

at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  if (rope_fused_applies(x, cos, sin)) return rope_fused(x, cos, sin);
  const int64_t half = x.size(-1) / 2;
  const auto rot = at::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);
  return x * cos.unsqueeze(-2) + rot * sin.unsqueeze(-2);  // broadcast over heads
}

}  // namespace ps::models
