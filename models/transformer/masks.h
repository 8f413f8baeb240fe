#pragma once
// Attention-mask builders from per-position segment ids. seg is [B,S] int64: the id of the sequence
// each position belongs to (any non-negative id, unique within its row), -1 for padding. One
// builder covers padded batches (one segment per row) and prepacked rows (several segments).
// Every result is [B,S,S] bool, true = query i may attend key j; it is never true across segments
// nor for padding. Distances are measured in within-segment positions (rank of the position among
// its segment's positions), so packed sequences behave exactly as if run alone.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace ps::models {

// Same segment and (bidirectional or j <= i).
at::Tensor segment_mask(const at::Tensor& seg, bool causal);

// LM-Infinite Λ-shape (Han et al. 2023), causal: j <= i and (j < n_global or i - j < local). This is the
// mask alone (pictures, and the reference for learned positions); the forward runs the banded kernel
// with the rotary distance cap instead (LmInfinite below), never an n×n mask.
at::Tensor lm_infinite_mask(const at::Tensor& seg, int64_t n_global, int64_t local);

// LM-Infinite as the forward runs it (spec: shared/specs/interventions.md §1). Query i sees keys
// i-local+1..i with ordinary RoPE (the local band) and keys j < n_global with i - j >= local (the global
// branch). A global-branch key is left unrotated and the query is rotated by min(limit, i), so its logit
// sees a distance of at most `limit` (rotary models only; learned positions get the Λ shape alone).
struct LmInfinite {
  int64_t n_global = 0, local = 1;
  int64_t limit = 0;  // distance cap (>= local; the authors' default is local); 0 = none: plain RoPE logits
};

// Sliding window of `window` tokens: causal j <= i and i - j < window; bidirectional |i - j| < window.
at::Tensor sliding_window_mask(const at::Tensor& seg, int64_t window, bool causal);

// [B,S] segment ids for right-padded rows: row b holds one sequence of lengths[b] tokens (ids 0), then -1.
at::Tensor segments_from_lengths(const std::vector<int64_t>& lengths, int64_t S);

// [B,S] within-segment positions (0 for padding): the position_ids to feed alongside a mask.
at::Tensor positions_from_segments(const at::Tensor& seg);

}  // namespace ps::models
