#pragma once
// Attention masks as plain boolean matrices for pictures. The rule is the one in
// models/transformer/masks.h (LibTorch), restated without torch so plots need no model library;
// tests/analysis/plot checks the two agree entry for entry.
#include <cstdint>
#include <string>
#include <vector>

#include "analysis/plot/figure.h"

namespace ps::plot {

struct MaskMode {
  enum Kind { causal, bidirectional, lm_infinite, sliding_window } kind = causal;
  bool causal_window = true;       // window: causal (decoders) or symmetric |i - j| < W
  int64_t n_global = 0, local = 0;  // lm_infinite: keys j < n_global, or i - j < local
  int64_t limit = 0;                // lm_infinite: distance cap for the far global keys (rotary models); 0 = none
  int64_t window = 0;              // window: i - j < window
  std::vector<int64_t> packed;     // segment lengths of a prepacked row; empty = one sequence
};

// "causal", "bidirectional", "packed:8,16,8" (causal blocks; "packed:…:bidirectional" for encoders),
// "lm-infinite:G:L[:LIMIT|none]", "window:W" (causal; "window:W:bidirectional"). InputError names the mode.
MaskMode parse_mask_mode(const std::string& text);
std::string describe(const MaskMode& m);  // panel title, e.g. "LM-Infinite Λ (G=4, L=8, amber: cap 8)"

// Row of n segment ids: the packed lengths in order (ids 0, 1, …), then -1 padding; one segment over
// all n when nothing is packed. InputError if the packed lengths exceed n.
std::vector<int64_t> segment_ids(const MaskMode& m, int64_t n);

// n x n row-major [query, key]: the same rule as segment_mask / lm_infinite_mask / sliding_window_mask
// for one row of segment ids (same segment, no padding, distances in within-segment positions).
std::vector<uint8_t> mask_matrix(const std::vector<int64_t>& seg, const MaskMode& m);
// n x n: 1 where LM-Infinite with a cap scores an allowed key at the capped distance (j < G, i - j >= L);
// all 0 for other modes and for lm-infinite:G:L:none.
std::vector<uint8_t> capped_matrix(const std::vector<int64_t>& seg, const MaskMode& m);

// A picture of one mode on n positions (n = 0: the packed lengths' sum; at most 4096).
MaskPanel mask_panel(const MaskMode& m, int64_t n);

}  // namespace ps::plot
