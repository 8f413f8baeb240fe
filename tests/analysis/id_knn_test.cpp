// Exact blocked kNN against the brute-force reference; duplicate removal; input validation.
#include <gtest/gtest.h>

#include "analysis/id/knn.h"
#include "models/util/error.h"
#include "tests/analysis/id_data.h"

namespace ps::analysis {
namespace {

using testdata::Points;

void expect_same(const KnnResult& a, const KnnResult& b) {
  ASSERT_EQ(a.n, b.n);
  ASSERT_EQ(a.k, b.k);
  for (int64_t i = 0; i < a.n * a.k; ++i) {
    ASSERT_EQ(a.index[i], b.index[i]) << "entry " << i;
    ASSERT_EQ(a.dist[i], b.dist[i]) << "entry " << i;  // bit-identical, not merely close
  }
}

TEST(IdKnn, BlockedEqualsBruteForceOnOddBlockSizes) {
  const Points p = testdata::gaussian(300, 6, 17, 0.05, 1);
  const KnnResult ref = knn_bruteforce(p.view(), 7);
  for (int threads : {1, 2}) {
    KnnOptions o;
    o.threads = threads;
    o.block = 37;
    o.margin = 3;
    expect_same(knn(p.view(), 7, o), ref);
  }
  expect_same(knn(p.view(), 7), ref);  // default blocks (one tile)
  // Neighbours sorted ascending and never the point itself.
  for (int64_t i = 0; i < ref.n; ++i)
    for (int j = 0; j < ref.k; ++j) {
      EXPECT_NE(ref.neighbor(i, j), i);
      if (j) {
        EXPECT_LE(ref.distance(i, j - 1), ref.distance(i, j));
      }
    }
}

TEST(IdKnn, TiesAndDuplicatesBreakByIndex) {
  // Integer grid points: many exactly equal distances, plus repeated rows (distance 0).
  Points p;
  p.cols = 2;
  for (int r = 0; r < 3; ++r)
    for (int x = 0; x < 6; ++x)
      for (int y = 0; y < 6; ++y) {
        p.data.push_back(float(x));
        p.data.push_back(float(y));
      }
  p.rows = int64_t(p.data.size()) / 2;
  KnnOptions o;
  o.block = 10;
  o.margin = 0;
  expect_same(knn(p.view(), 9, o), knn_bruteforce(p.view(), 9));
  const KnnResult r = knn(p.view(), 2, o);
  EXPECT_EQ(r.distance(0, 0), 0.0);
  EXPECT_EQ(r.neighbor(0, 0), 36);  // the first copy of row 0
  EXPECT_EQ(r.neighbor(0, 1), 72);
}

TEST(IdKnn, UnprovableFloatRankingFallsBackAndStaysExact) {
  // Tight clusters far from the centre: the float GEMM error bound (∝ ‖x‖²) dwarfs the in-cluster
  // distances, so rows must be redone exactly.
  testdata::Rng rng(5);
  Points p;
  p.cols = 8;
  for (int c = 0; c < 4; ++c) {
    std::vector<double> centre(8);
    for (auto& e : centre) e = 1e4 * rng.normal();
    for (int i = 0; i < 40; ++i)
      for (int j = 0; j < 8; ++j) p.data.push_back(float(centre[j] + 1e-2 * rng.normal()));
  }
  p.rows = 160;
  const KnnResult r = knn(p.view(), 5, KnnOptions{2, 64, 4});
  EXPECT_GT(r.n_fallback, 0);
  expect_same(r, knn_bruteforce(p.view(), 5));
}

TEST(IdKnn, RejectsBadKAndBadPoints) {
  const Points p = testdata::gaussian(10, 2, 3, 0, 2);
  EXPECT_THROW(knn(p.view(), 0), InputError);
  EXPECT_THROW(knn(p.view(), 10), InputError);
  EXPECT_NO_THROW(knn(p.view(), 9));
  Points bad = p;
  bad.data[7] = std::nanf("");
  try {
    knn(bad.view("acts.h5:/acts/x"), 2);
    FAIL() << "NaN accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("acts.h5:/acts/x"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("row 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(knn(PointsView(nullptr, 0, 3), 1), InputError);
  EXPECT_THROW(validate_points(PointsView(p.data.data(), 5, 3, "x", 2)), InputError);  // stride < cols
}

TEST(IdKnn, StridedViewMatchesDense) {
  const Points p = testdata::gaussian(50, 3, 6, 0.1, 3);
  // Same 50 × 4 points taken as the first 4 columns of the 6-wide rows.
  Points dense;
  dense.rows = 50;
  dense.cols = 4;
  for (int64_t i = 0; i < 50; ++i)
    for (int j = 0; j < 4; ++j) dense.data.push_back(p.data[i * 6 + j]);
  expect_same(knn(PointsView(p.data.data(), 50, 4, "s", 6), 3), knn(dense.view(), 3));
}

TEST(IdDedup, RemovesExactDuplicatesKeepingFirst) {
  Points p;
  p.cols = 2;
  p.data = {1, 2, 3, 4, 1, 2, 0.0f, 5, -0.0f, 5, 3, 4, 3, 4.0000005f};
  p.rows = 7;
  const Deduplicated d = remove_duplicates(p.view());
  EXPECT_EQ(d.n_duplicates, 3);  // rows 2 (=0), 4 (-0 == +0, =3), 5 (=1)
  EXPECT_EQ(d.kept, (std::vector<int64_t>{0, 1, 3, 6}));
  ASSERT_EQ(d.points.rows, 4);
  EXPECT_EQ(d.points.data[4 * 2 - 1], 4.0000005f);
}

}  // namespace
}  // namespace ps::analysis
