// Bootstrap intervals, block analysis and the deterministic RNG / percentile helpers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "analysis/id/intrinsic_dimension.h"
#include "models/util/error.h"
#include "tests/analysis/id_data.h"

namespace ps::analysis {
namespace {

TEST(IdHelpers, PercentileInterpolatesAndRngIsSeededAndInRange) {
  const std::vector<double> v = {1, 2, 3, 4, 5};
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 0), 1);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 1), 5);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 0.5), 3);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 0.625), 3.5);
  EXPECT_TRUE(std::isnan(percentile_sorted({}, 0.5)));
  SplitMix64 a(7), b(7), c(8);
  std::set<uint64_t> seen;
  bool differs = false;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t x = a.below(6);
    ASSERT_LT(x, 6u);
    seen.insert(x);
    ASSERT_EQ(x, b.below(6));
    differs |= x != c.below(6);
  }
  EXPECT_EQ(seen.size(), 6u);
  EXPECT_TRUE(differs);
}

TEST(IdBootstrap, PerPointIntervalsAreSeededAndCoverTheTruth) {
  const auto p = testdata::sphere(3000, 3, 4, 91);
  TwoNnOptions o;
  o.ci.reps = 200;
  o.ci.seed = 5;
  const IdEstimate a = twonn(p.view(), o), b = twonn(p.view(), o);
  EXPECT_EQ(a.ci_low, b.ci_low);
  EXPECT_EQ(a.ci_high, b.ci_high);
  EXPECT_LT(a.ci_low, a.value);
  EXPECT_GT(a.ci_high, a.value);
  EXPECT_LT(a.ci_low, 3.0);
  EXPECT_GT(a.ci_high, 3.0);
  EXPECT_LT(a.ci_high - a.ci_low, 0.6);  // ~±2σ with σ ≈ d/√N
  o.ci.seed = 6;
  EXPECT_NE(twonn(p.view(), o).ci_low, a.ci_low);
  MleOptions m;
  m.ci.reps = 100;
  const IdEstimate e = mle(p.view(), m);
  EXPECT_LT(e.ci_low, e.value);
  EXPECT_GT(e.ci_high, e.value);
  EXPECT_TRUE(std::isnan(mle(p.view()).ci_low));  // no reps, no interval
}

TEST(IdBootstrap, GenericPointBootstrapOverPca) {
  const auto p = testdata::gaussian(400, 4, 16, 0.01, 92);
  BootstrapOptions o;
  o.reps = 40;
  o.seed = 3;
  const Estimator est = pca_participation_ratio_estimator();
  const IdEstimate a = bootstrap(p.view(), est, o);
  EXPECT_DOUBLE_EQ(a.value, pca(p.view()).participation_ratio);
  // Replay the documented procedure: N draws with replacement per rep from SplitMix64(seed).
  SplitMix64 rng(o.seed);
  std::vector<double> reps;
  for (int r = 0; r < o.reps; ++r) {
    std::vector<int64_t> idx(p.rows);
    for (auto& i : idx) i = int64_t(rng.below(uint64_t(p.rows)));
    reps.push_back(est(gather_rows(p.view(), idx).view()));
  }
  std::sort(reps.begin(), reps.end());
  EXPECT_EQ(a.ci_low, percentile_sorted(reps, 0.025));
  EXPECT_EQ(a.ci_high, percentile_sorted(reps, 0.975));
  EXPECT_LT(a.ci_low, a.ci_high);
  EXPECT_GT(a.ci_low, 3.0);  // 4 isotropic directions: PR near 4 even on resamples
  o.reps = 0;
  EXPECT_THROW(bootstrap(p.view(), pca_participation_ratio_estimator(), o), InputError);
}

TEST(IdBlocks, SubsampleStatisticsAreConsistent) {
  const auto p = testdata::swiss_roll(2000, 3, 93);
  const Estimator est = twonn_estimator();
  const std::vector<BlockRow> rows = block_analysis(p.view(), est, BlockOptions{{1, 2, 4, 8}, 9});
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].values.size(), 1u);
  EXPECT_DOUBLE_EQ(rows[0].mean, est(p.view()));  // b = 1: all points, merely shuffled
  EXPECT_EQ(rows[0].sd, 0.0);
  for (const BlockRow& r : rows) {
    EXPECT_EQ(r.block_size, 2000 / r.blocks);
    ASSERT_EQ(int(r.values.size()), r.blocks);
    double s = 0;
    for (double v : r.values) s += v;
    EXPECT_NEAR(r.mean, s / r.blocks, 1e-12);
    EXPECT_NEAR(r.mean, 2.0, 0.25) << r.blocks;  // stable on a true 2-manifold
    if (r.blocks > 1) {
      EXPECT_GT(r.sd, 0.0);
    }
  }
  EXPECT_EQ(block_analysis(p.view(), est, BlockOptions{{1, 2, 4, 8}, 9})[3].values, rows[3].values);
  EXPECT_THROW(block_analysis(p.view(), est, BlockOptions{{0}, 1}), InputError);
}

}  // namespace
}  // namespace ps::analysis
