#pragma once
// Intrinsic-dimension estimators for representation matrices (N points × D dims, row-major float):
// TwoNN (Facco et al. 2017), Levina–Bickel MLE (with MacKay–Ghahramani correction), PCA
// (n components for a variance fraction; participation ratio), bootstrap confidence intervals and
// block analysis. Spec: shared/specs/methods.md "Intrinsic dimension of representations".
// All random choices take a seed; same seed + inputs ⇒ same outputs.
#include <cstdint>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

#include "analysis/id/knn.h"
#include "analysis/id/points.h"

namespace ps::analysis {

struct IdEstimate {
  double value = std::numeric_limits<double>::quiet_NaN();
  double ci_low = std::numeric_limits<double>::quiet_NaN();   // NaN unless a bootstrap ran
  double ci_high = std::numeric_limits<double>::quiet_NaN();
  int64_t n_used = 0;        // points that entered the estimate (after dedup and dropped points)
  int64_t n_duplicates = 0;  // exact duplicate rows removed first
};

// Per-point bootstrap inside twonn()/mle(): points are resampled with replacement and the
// estimate recomputed from their already-measured neighbourhoods (μ_i or m̂(x_i)). Cheap, and free
// of the artificial r1 = 0 duplicates that resampling raw points would create.
struct CiOptions {
  int reps = 0;              // 0 = no interval
  double confidence = 0.95;  // percentile interval [α/2, 1−α/2]
  uint64_t seed = 0;
};

struct TwoNnOptions {
  enum class Fit { Regression, ClosedFormMle };
  Fit fit = Fit::Regression;   // Regression: slope through origin of −log(1−F) vs log μ
  double fit_fraction = 0.9;   // fit on the smallest fraction of μ (0 < f ≤ 1)
  bool remove_duplicates = true;
  CiOptions ci;
  KnnOptions knn;
};

struct MleOptions {
  int k1 = 10, k2 = 20;        // average the global estimate over k in [k1, k2]; 2 ≤ k1 ≤ k2 < N
  bool unbiased = false;       // (k−2) instead of (k−1) in m̂_k(x)
  bool inverse_mean = false;   // MacKay–Ghahramani: global = 1 / mean(1/m̂_k(x)) instead of mean
  bool remove_duplicates = true;
  CiOptions ci;
  KnnOptions knn;
};

struct PcaOptions {
  double variance_fraction = 0.9;  // n_components = smallest m with Σ_{i≤m} λ_i ≥ fraction·Σλ
  bool remove_duplicates = false;  // duplicates are harmless to PCA; on for parity if wanted
};

struct PcaEstimate {
  int64_t n_components = 0;          // components for variance_fraction
  double participation_ratio = 0;    // (Σλ)² / Σλ²
  std::vector<double> eigenvalues;   // covariance spectrum, descending, ≥ 0, length min(N−1, D)
  int64_t n_used = 0;
  int64_t n_duplicates = 0;
};

// Throws InputError for invalid points, fewer than 3 distinct points, or bad options.
IdEstimate twonn(const PointsView& x, const TwoNnOptions& opt = {});
// Needs more than k2 distinct points.
IdEstimate mle(const PointsView& x, const MleOptions& opt = {});
// Needs at least 2 points.
PcaEstimate pca(const PointsView& x, const PcaOptions& opt = {});

// Both from one exact kNN (k = max(2, k2), to.knn's options) over the same deduplicated points: equal to
// twonn(x, to) and mle(x, mo) bit for bit (the first two of k exact neighbours are the 2 nearest), at the
// cost of one kNN instead of two. Falls back to the two calls when their dedup settings differ or there
// are too few distinct points for MLE (so errors read as theirs).
std::pair<IdEstimate, IdEstimate> twonn_and_mle(const PointsView& x, const TwoNnOptions& to, const MleOptions& mo);

// Lower level: estimates from a precomputed kNN (k ≥ 2 for TwoNN, k ≥ k2 for MLE); no dedup.
IdEstimate twonn_from_knn(const KnnResult& nn, const TwoNnOptions& opt = {});
IdEstimate mle_from_knn(const KnnResult& nn, const MleOptions& opt = {});

// Any scalar estimator of a point set, for the generic resampling tools below.
using Estimator = std::function<double(const PointsView&)>;
Estimator twonn_estimator(TwoNnOptions opt = {});
Estimator mle_estimator(MleOptions opt = {});
Estimator pca_n_components_estimator(PcaOptions opt = {});
Estimator pca_participation_ratio_estimator(PcaOptions opt = {});

struct BootstrapOptions {
  int reps = 50;
  double confidence = 0.95;
  uint64_t seed = 0;
};

// Generic point bootstrap: value = est(x); each rep resamples N rows with replacement and calls est
// on them; CI = percentiles. Note: kNN estimators with remove_duplicates see only the ~63% distinct
// resampled rows (prefer CiOptions in twonn/mle for those). n_used = x.rows.
IdEstimate bootstrap(const PointsView& x, const Estimator& est, const BootstrapOptions& opt = {});

struct BlockRow {
  int blocks = 1;             // b
  int64_t block_size = 0;     // ⌊N/b⌋
  double mean = 0, sd = 0;    // over the b blocks (sd = sample sd; 0 when b = 1)
  std::vector<double> values;
};

struct BlockOptions {
  std::vector<int> blocks = {1, 2, 4, 8};
  uint64_t seed = 0;
};

// Stability check: shuffle the rows once (seeded), split into b disjoint blocks of ⌊N/b⌋ rows,
// estimate on each block, report mean ± sd per b.
std::vector<BlockRow> block_analysis(const PointsView& x, const Estimator& est, const BlockOptions& opt = {});

// Deterministic helpers (exposed for tests): percentile with linear interpolation on sorted data,
// and a seeded uniform draw in [0, n) that does not depend on the standard library's distributions.
double percentile_sorted(const std::vector<double>& sorted, double q);
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : s_(seed) {}
  uint64_t next();
  uint64_t below(uint64_t n);  // unbiased (rejection) draw in [0, n), n > 0
 private:
  uint64_t s_;
};

}  // namespace ps::analysis
