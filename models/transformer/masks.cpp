#include "models/transformer/masks.h"

#include <ATen/ATen.h>

#include "models/util/error.h"

namespace ps::models {

namespace {

void check_seg(const at::Tensor& seg) {
  if (!seg.defined() || seg.dim() != 2 || seg.scalar_type() != at::kLong)
    throw RuntimeError("attention mask: segment ids must be a [B,S] int64 tensor");
}

// [B,S,S] same-segment relation excluding padding.
at::Tensor same_segment(const at::Tensor& seg) {
  const auto a = seg.unsqueeze(2), b = seg.unsqueeze(1);
  return at::logical_and(a == b, a >= 0);
}

// Within-segment positions of queries and keys as [B,S,1] and [B,1,S].
std::pair<at::Tensor, at::Tensor> qk_positions(const at::Tensor& seg) {
  const auto p = positions_from_segments(seg);
  return {p.unsqueeze(2), p.unsqueeze(1)};
}

}  // namespace

at::Tensor positions_from_segments(const at::Tensor& seg) {
  check_seg(seg);
  // Rank among earlier positions of the same segment: the strictly-lower part of the relation, summed.
  const auto same = same_segment(seg);
  return at::tril(same, -1).sum(-1).to(at::kLong);
}

at::Tensor segment_mask(const at::Tensor& seg, bool causal) {
  check_seg(seg);
  auto m = same_segment(seg);
  if (causal) {
    const auto [pi, pj] = qk_positions(seg);
    m = at::logical_and(m, pj <= pi);
  }
  return m;
}

at::Tensor lm_infinite_mask(const at::Tensor& seg, int64_t n_global, int64_t local) {
  check_seg(seg);
  if (n_global < 0 || local < 1) throw InputError("lm-infinite mask: need n_global >= 0 and L_local >= 1");
  const auto [pi, pj] = qk_positions(seg);
  const auto shape = at::logical_or(pj < n_global, (pi - pj) < local);
  return at::logical_and(at::logical_and(same_segment(seg), pj <= pi), shape);
}

at::Tensor sliding_window_mask(const at::Tensor& seg, int64_t window, bool causal) {
  check_seg(seg);
  if (window < 1) throw InputError("sliding-window mask: window must be >= 1");
  const auto [pi, pj] = qk_positions(seg);
  auto m = at::logical_and(same_segment(seg), at::abs(pi - pj) < window);
  if (causal) m = at::logical_and(m, pj <= pi);
  return m;
}

at::Tensor segments_from_lengths(const std::vector<int64_t>& lengths, int64_t S) {
  auto seg = at::full({static_cast<int64_t>(lengths.size()), S}, -1, at::kLong);
  for (size_t b = 0; b < lengths.size(); ++b) {
    if (lengths[b] < 0 || lengths[b] > S) throw RuntimeError("segments_from_lengths: length exceeds row");
    seg[static_cast<int64_t>(b)].slice(0, 0, lengths[b]).fill_(0);
  }
  return seg;
}

}  // namespace ps::models
