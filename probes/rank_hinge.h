#pragma once
// The AST-Probe's pairwise rank hinge over one snippet, with its gradient, without [L, L] tensors:
//   sum over ordered pairs (i, j) with gold_i > gold_j of relu(1 − (x_i − x_j)),
// and grad[i] −= 1, grad[j] += 1 for every pair with a positive margin (relu's gradient at 0 is 0, as
// ATen's). Margins are computed as float `1.0f - (x[i] - x[j])` in both forms, so both pick exactly the
// same pairs and give the same gradient (integer counts); the sums agree to double rounding.
#include <cstdint>

namespace ps::probes {

// O(n²): every pair. Fastest for short snippets.
double rank_hinge_pairs(const float* x, const float* gold, int64_t n, float* grad);
// O(n log n): positions sorted by x, Fenwick trees over that order, gold levels swept in order.
double rank_hinge_sorted(const float* x, const float* gold, int64_t n, float* grad);
// Picks one of the two by n.
double rank_hinge(const float* x, const float* gold, int64_t n, float* grad);

// Ordered pairs with gold_i > gold_j (= unordered pairs with different gold), in O(n log n).
int64_t rank_hinge_pair_count(const float* gold, int64_t n);

}  // namespace ps::probes
