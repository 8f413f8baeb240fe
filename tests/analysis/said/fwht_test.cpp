// FWHT against the dense Sylvester Hadamard matrix, and its algebra (H H = n I) at sizes that take the
// blocked, radix-4 and multi-threaded paths.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "analysis/said/fwht.h"
#include "models/util/error.h"

namespace ps::said {
namespace {

// Sylvester construction: H_1 = [1], H_2n = [[H, H], [H, -H]].
std::vector<std::vector<double>> sylvester(int64_t n) {
  std::vector<std::vector<double>> h{{1.0}};
  for (int64_t m = 1; m < n; m *= 2) {
    std::vector<std::vector<double>> g(2 * m, std::vector<double>(2 * m));
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < m; ++j) {
        g[i][j] = g[i][j + m] = g[i + m][j] = h[i][j];
        g[i + m][j + m] = -h[i][j];
      }
    h = std::move(g);
  }
  return h;
}

std::vector<double> random_vec(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd(0.0, 1.0);
  std::vector<double> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

TEST(Fwht, EqualsDenseSylvesterHadamard) {
  for (int64_t n : {1, 2, 4, 8, 16, 64, 256, 1024, 2048}) {
    const auto H = sylvester(n);
    const auto x = random_vec(n, uint64_t(n));
    std::vector<double> want(n, 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) want[i] += H[i][j] * x[j];
    auto got = x;
    fwht_inplace(got.data(), n);
    std::vector<float> gotf(x.begin(), x.end());
    fwht_inplace(gotf.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_NEAR(got[i], want[i], 1e-9 * std::sqrt(double(n)) * 10) << "n=" << n << " i=" << i;
      ASSERT_NEAR(gotf[i], want[i], 2e-5 * std::sqrt(double(n)) * 10) << "n=" << n << " i=" << i;
    }
  }
}

// Entry (i, j) of the Sylvester matrix is (-1)^popcount(i & j): check single columns at sizes too large for a
// dense matrix, which exercises the wide radix-4/radix-2 stages and the parallel split.
TEST(Fwht, LargeSizesMatchClosedFormColumns) {
  for (int64_t n : {int64_t(1) << 13, int64_t(1) << 16, int64_t(1) << 17, int64_t(1) << 20}) {
    for (int64_t j : {int64_t(0), int64_t(1), n / 3, n - 1}) {
      std::vector<float> e(n, 0.0f);
      e[j] = 1.0f;
      fwht_inplace(e.data(), n);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(e[i], (__builtin_popcountll(uint64_t(i & j)) % 2) ? -1.0f : 1.0f) << "n=" << n << " j=" << j;
    }
  }
}

TEST(Fwht, TwiceIsNTimesIdentityAndThreadCountInvariant) {
  const int64_t n = int64_t(1) << 18;
  const auto x = random_vec(n, 5);
  auto y = x;
  fwht_inplace(y.data(), n);
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  auto y1 = x;
  fwht_inplace(y1.data(), n);
  at::set_num_threads(threads);
  EXPECT_EQ(y, y1);  // same butterflies in the same order on every thread count
  fwht_inplace(y.data(), n);
  for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(y[i] / double(n), x[i], 1e-9);
}

TEST(Fwht, RejectsNonPowersOfTwo) {
  std::vector<float> v(12);
  EXPECT_THROW(fwht_inplace(v.data(), 12), InputError);
  EXPECT_THROW(fwht_inplace(v.data(), 0), InputError);
  EXPECT_EQ(next_pow2(1), 1);
  EXPECT_EQ(next_pow2(5), 8);
  EXPECT_EQ(next_pow2(1024), 1024);
  EXPECT_EQ(next_pow2(1025), 2048);
  EXPECT_TRUE(is_pow2(1 << 20));
  EXPECT_FALSE(is_pow2(6));
}

}  // namespace
}  // namespace ps::said
