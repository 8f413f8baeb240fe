// The rank hinge's two forms (pairwise, O(n log n) sorted) against a plain double reference and each
// other: same loss, bit-identical gradient, on snippets long enough for the sorted form, with ties in
// both gold and x, and margins exactly at 0.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "probes/rank_hinge.h"

using namespace ps::probes;

namespace {

struct Case {
  std::vector<float> x, gold;
};

// Gold heights 1..levels; x on a 0.25 grid for ties and exact unit margins, or continuous.
Case random_case(int64_t n, int levels, bool grid, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Case c;
  for (int64_t i = 0; i < n; ++i) {
    c.gold.push_back(static_cast<float>(1 + rng() % levels));
    c.x.push_back(grid ? 0.25f * static_cast<float>(rng() % 24) : std::normal_distribution<float>(2.0f, 1.5f)(rng));
  }
  return c;
}

double reference(const Case& c, std::vector<double>& grad, int64_t& pairs) {
  const size_t n = c.x.size();
  grad.assign(n, 0.0);
  pairs = 0;
  double loss = 0;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) {
      if (!(c.gold[i] > c.gold[j])) continue;
      ++pairs;
      const double m = 1.0 - (double(c.x[i]) - double(c.x[j]));
      if (m > 0) loss += m, grad[i] -= 1, grad[j] += 1;
    }
  return loss;
}

}  // namespace

TEST(RankHinge, BothFormsEqualThePlainReference) {
  uint64_t seed = 1;
  for (int64_t n : {1, 2, 3, 17, 47, 48, 49, 250, 600})
    for (int levels : {1, 3, 12})
      for (bool grid : {false, true}) {
        const Case c = random_case(n, levels, grid, seed++);
        std::vector<double> ref_grad;
        int64_t ref_pairs = 0;
        const double ref = reference(c, ref_grad, ref_pairs);
        std::vector<float> g_pairs(n, 0.0f), g_sorted(n, 0.0f), g_auto(n, 0.0f);
        const double l_pairs = rank_hinge_pairs(c.x.data(), c.gold.data(), n, g_pairs.data());
        const double l_sorted = rank_hinge_sorted(c.x.data(), c.gold.data(), n, g_sorted.data());
        const double l_auto = rank_hinge(c.x.data(), c.gold.data(), n, g_auto.data());
        SCOPED_TRACE(testing::Message() << "n " << n << " levels " << levels << " grid " << grid);
        EXPECT_EQ(rank_hinge_pair_count(c.gold.data(), n), ref_pairs);
        EXPECT_NEAR(l_pairs, ref, 1e-6 * std::max(1.0, ref));
        EXPECT_NEAR(l_sorted, ref, 1e-6 * std::max(1.0, ref));
        EXPECT_EQ(l_auto, n < 48 ? l_pairs : l_sorted);
        for (int64_t i = 0; i < n; ++i) {
          EXPECT_EQ(g_pairs[i], g_sorted[i]) << i;
          EXPECT_EQ(g_auto[i], g_pairs[i]) << i;
          EXPECT_EQ(double(g_pairs[i]), ref_grad[i]) << i;
        }
      }
}

TEST(RankHinge, AddsToAnExistingGradient) {
  const Case c = random_case(200, 5, true, 42);
  std::vector<float> g0(200, 0.0f), g1(200, 2.0f);
  rank_hinge_sorted(c.x.data(), c.gold.data(), 200, g0.data());
  rank_hinge_sorted(c.x.data(), c.gold.data(), 200, g1.data());
  for (int i = 0; i < 200; ++i) EXPECT_EQ(g1[i], g0[i] + 2.0f);
}
