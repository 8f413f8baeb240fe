// Generic bootstrap and block analysis over any scalar estimator; deterministic RNG helpers.
#include <algorithm>
#include <cmath>

#include "analysis/id/intrinsic_dimension.h"
#include "models/util/error.h"

namespace ps::analysis {

uint64_t SplitMix64::next() {
  uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t SplitMix64::below(uint64_t n) {
  const uint64_t threshold = (0 - n) % n;  // 2^64 mod n: reject the short last bucket
  for (;;) {
    const uint64_t r = next();
    if (r >= threshold) return r % n;
  }
}

double percentile_sorted(const std::vector<double>& v, double q) {
  if (v.empty()) return std::nan("");
  const double pos = std::clamp(q, 0.0, 1.0) * double(v.size() - 1);
  const size_t lo = size_t(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - double(lo)) * (v[hi] - v[lo]);
}

IdEstimate bootstrap(const PointsView& x, const Estimator& est, const BootstrapOptions& opt) {
  validate_points(x);
  if (opt.reps < 1) throw InputError(where(x.name, "bootstrap needs reps >= 1"));
  if (!(opt.confidence > 0 && opt.confidence < 1)) throw InputError(where(x.name, "confidence must be in (0, 1)"));
  IdEstimate e;
  e.value = est(x);
  e.n_used = x.rows;
  SplitMix64 rng(opt.seed);
  std::vector<int64_t> idx(x.rows);
  std::vector<double> values;
  for (int r = 0; r < opt.reps; ++r) {
    for (auto& i : idx) i = int64_t(rng.below(uint64_t(x.rows)));
    values.push_back(est(gather_rows(x, idx).view()));
  }
  std::sort(values.begin(), values.end());
  const double alpha = 1 - opt.confidence;
  e.ci_low = percentile_sorted(values, alpha / 2);
  e.ci_high = percentile_sorted(values, 1 - alpha / 2);
  return e;
}

std::vector<BlockRow> block_analysis(const PointsView& x, const Estimator& est, const BlockOptions& opt) {
  validate_points(x);
  // One seeded Fisher–Yates shuffle shared by every b, so blocks of different sizes are comparable.
  std::vector<int64_t> perm(x.rows);
  for (int64_t i = 0; i < x.rows; ++i) perm[i] = i;
  SplitMix64 rng(opt.seed);
  for (int64_t i = x.rows - 1; i > 0; --i) std::swap(perm[i], perm[int64_t(rng.below(uint64_t(i + 1)))]);
  std::vector<BlockRow> out;
  for (int b : opt.blocks) {
    if (b < 1 || b > x.rows)
      throw InputError(where(x.name, "block count " + std::to_string(b) + " must be in [1, " + std::to_string(x.rows) + "]"));
    BlockRow row;
    row.blocks = b;
    row.block_size = x.rows / b;
    for (int q = 0; q < b; ++q) {
      std::vector<int64_t> rows(perm.begin() + q * row.block_size, perm.begin() + (q + 1) * row.block_size);
      row.values.push_back(est(gather_rows(x, rows).view()));
    }
    double sum = 0;
    for (double v : row.values) sum += v;
    row.mean = sum / b;
    double ss = 0;
    for (double v : row.values) ss += (v - row.mean) * (v - row.mean);
    row.sd = b > 1 ? std::sqrt(ss / (b - 1)) : 0.0;
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace ps::analysis
