// TwoNN, MLE and PCA: planted answers, point sets of known intrinsic dimension, degenerate inputs.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>

#include "analysis/id/intrinsic_dimension.h"
#include "models/util/error.h"
#include "tests/analysis/id_data.h"

namespace ps::analysis {
namespace {

using testdata::Points;

// A kNN result with the given per-point sorted radii (n × k).
KnnResult planted(const std::vector<std::vector<double>>& radii) {
  KnnResult r;
  r.n = int64_t(radii.size());
  r.k = int(radii[0].size());
  for (const auto& row : radii)
    for (int j = 0; j < r.k; ++j) {
      r.dist.push_back(row[j]);
      r.index.push_back(j);
    }
  return r;
}

TEST(IdTwoNn, RegressionRecoversPlantedParetoQuantiles) {
  // μ_i = (1 − i/N)^(−1/d) puts every point exactly on the line −log(1 − F) = d·log μ.
  const int n = 1000;
  const double d = 7.25;
  std::vector<std::vector<double>> radii;
  for (int i = n - 1; i >= 1; --i) radii.push_back({2.0, 2.0 * std::pow(1.0 - double(i) / n, -1.0 / d)});
  radii.push_back({1.0, 1.0});  // r1 = r2: dropped
  radii.push_back({0.0, 3.0});  // r1 = 0: dropped
  // N counts the used points: append one more valid point with the largest μ (i = N is never fitted).
  radii.push_back({1.0, 1e6});
  const IdEstimate e = twonn_from_knn(planted(radii));
  EXPECT_EQ(e.n_used, n);
  EXPECT_NEAR(e.value, d, 1e-9);
  TwoNnOptions cf;
  cf.fit = TwoNnOptions::Fit::ClosedFormMle;
  double s = 0;
  for (const auto& r : radii)
    if (r[0] > 0 && r[1] > r[0]) s += std::log(r[1] / r[0]);
  EXPECT_DOUBLE_EQ(twonn_from_knn(planted(radii), cf).value, (n - 1) / s);
}

TEST(IdMle, MatchesDirectFormulaInAllVariants) {
  testdata::Rng rng(11);
  std::vector<std::vector<double>> radii(50);
  for (auto& row : radii) {
    double t = 0;
    for (int j = 0; j < 12; ++j) row.push_back(t += 0.1 + rng.uniform());
  }
  radii.push_back(std::vector<double>(12, 0.0));  // duplicate point: dropped, not NaN
  const KnnResult nn = planted(radii);
  for (bool unbiased : {false, true})
    for (bool inverse : {false, true}) {
      MleOptions o;
      o.k1 = 4;
      o.k2 = 12;
      o.unbiased = unbiased;
      o.inverse_mean = inverse;
      double total = 0;
      for (int k = o.k1; k <= o.k2; ++k) {
        double acc = 0;
        for (int p = 0; p < 50; ++p) {
          double s = 0;
          for (int j = 0; j < k - 1; ++j) s += std::log(radii[p][k - 1] / radii[p][j]);
          const double m = (unbiased ? k - 2 : k - 1) / s;
          acc += inverse ? 1 / m : m;
        }
        total += inverse ? 50 / acc : acc / 50;
      }
      const IdEstimate e = mle_from_knn(nn, o);
      EXPECT_EQ(e.n_used, 50);
      EXPECT_NEAR(e.value, total / (o.k2 - o.k1 + 1), 1e-12 * e.value) << unbiased << inverse;
    }
}

struct Known {
  const char* name;
  Points points;
  double id;
};

// TwoNN (both fits) and the bias-corrected MLE variants within 10% of the true intrinsic dimension.
// Plain Levina–Bickel (mean of m̂ with k−1) is biased up by about (k−1)/(k−2), ~8% at k = 10–20,
// so it gets 15%.
void expect_recovers(const Known& k) {
  const PointsView v = k.points.view(k.name);
  TwoNnOptions cf;
  cf.fit = TwoNnOptions::Fit::ClosedFormMle;
  MleOptions mg, ub;
  mg.inverse_mean = true;
  ub.unbiased = true;
  // One full public-path call; the variants reuse a single kNN (the sets have no duplicates).
  const IdEstimate full = twonn(v);
  EXPECT_EQ(full.n_duplicates, 0);
  const KnnResult nn = knn(v, 20);
  const double t = full.value, tc = twonn_from_knn(nn, cf).value;
  EXPECT_EQ(twonn_from_knn(nn).value, t);
  const double m = mle_from_knn(nn, MleOptions{}).value, m_mg = mle_from_knn(nn, mg).value;
  const double m_ub = mle_from_knn(nn, ub).value;
  EXPECT_NEAR(t, k.id, 0.1 * k.id) << k.name << " TwoNN";
  EXPECT_NEAR(tc, k.id, 0.1 * k.id) << k.name << " TwoNN closed form";
  EXPECT_NEAR(m_mg, k.id, 0.1 * k.id) << k.name << " MLE MacKay-Ghahramani";
  EXPECT_NEAR(m_ub, k.id, 0.1 * k.id) << k.name << " MLE unbiased";
  EXPECT_NEAR(m, k.id, 0.15 * k.id) << k.name << " MLE";
  std::printf("%-20s true %4.1f  twonn %.3f  twonn-cf %.3f  mle %.3f  mle-mg %.3f  mle-ub %.3f\n", k.name, k.id, t, tc,
              m, m_mg, m_ub);
}

TEST(IdKnown, GaussianEmbeddedIn768) {
  expect_recovers({"gauss d=5 in 768", testdata::gaussian(2000, 5, 768, 1e-3, 21), 5});
  expect_recovers({"gauss d=10 in 768", testdata::gaussian(3000, 10, 768, 1e-3, 22), 10});
}

TEST(IdKnown, SwissRoll) {
  expect_recovers({"swiss roll in 3", testdata::swiss_roll(2000, 3, 23), 2});
  expect_recovers({"swiss roll in 64", testdata::swiss_roll(2000, 64, 24), 2});
}

TEST(IdKnown, Spheres) {
  for (int d = 3; d <= 5; ++d) {
    const std::string name = "sphere d=" + std::to_string(d);
    expect_recovers({name.c_str(), testdata::sphere(3000, d, d + 1, 30 + d), double(d)});
  }
}

TEST(IdKnown, UniformHypercube) {
  expect_recovers({"cube d=3", testdata::hypercube(3000, 3, 41), 3});
  expect_recovers({"cube d=5", testdata::hypercube(3000, 5, 42), 5});
}

TEST(IdDuplicates, RemovedFirstAndNeverNaN) {
  const Points base = testdata::sphere(500, 3, 4, 51);
  Points rep;
  rep.cols = base.cols;
  int64_t dups = 0;
  for (int64_t i = 0; i < base.rows; ++i)
    for (int c = 0; c <= int(i % 4); ++c) {  // 1–4 copies of each point
      rep.data.insert(rep.data.end(), base.data.begin() + i * 4, base.data.begin() + (i + 1) * 4);
      dups += c > 0;
    }
  rep.rows = int64_t(rep.data.size()) / 4;
  const IdEstimate a = twonn(rep.view()), b = twonn(base.view());
  EXPECT_EQ(a.n_duplicates, dups);
  EXPECT_EQ(a.value, b.value);  // same distinct set in the same order
  const IdEstimate ma = mle(rep.view()), mb = mle(base.view());
  EXPECT_EQ(ma.n_duplicates, dups);
  EXPECT_EQ(ma.value, mb.value);
  // Without dedup: r1 = 0 points and singletons whose nearest neighbour is repeated (r1 = r2) are
  // dropped, and the estimate stays finite.
  TwoNnOptions keep;
  keep.remove_duplicates = false;
  const IdEstimate k = twonn(rep.view(), keep);
  EXPECT_TRUE(std::isfinite(k.value));
  const KnnResult nb = knn_bruteforce(base.view(), 1);
  int64_t expect_used = 0;
  for (int64_t i = 0; i < base.rows; ++i) expect_used += i % 4 == 0 && nb.neighbor(i, 0) % 4 == 0;
  EXPECT_EQ(k.n_used, expect_used);
  EXPECT_GT(expect_used, 20);
  MleOptions mkeep;
  mkeep.remove_duplicates = false;
  EXPECT_TRUE(std::isfinite(mle(rep.view(), mkeep).value));
}

// One shared kNN gives exactly the two separate estimates, with duplicates, with CIs, and in the fallbacks.
TEST(IdTwoNnAndMle, SharedKnnEqualsTheSeparateCalls) {
  const Points base = testdata::sphere(400, 3, 6, 52);
  Points rep = base;
  rep.data.insert(rep.data.end(), base.data.begin(), base.data.begin() + 30 * 6);  // 30 duplicated rows
  rep.rows += 30;
  TwoNnOptions to;
  to.ci.reps = 20;
  MleOptions mo;
  mo.ci.reps = 20;
  for (bool dedup_mle : {true, false}) {
    mo.remove_duplicates = dedup_mle;
    const auto [t, m] = twonn_and_mle(rep.view(), to, mo);
    const IdEstimate ts = twonn(rep.view(), to), ms = mle(rep.view(), mo);
    EXPECT_EQ(t.value, ts.value);
    EXPECT_EQ(t.ci_low, ts.ci_low);
    EXPECT_EQ(t.ci_high, ts.ci_high);
    EXPECT_EQ(t.n_used, ts.n_used);
    EXPECT_EQ(t.n_duplicates, ts.n_duplicates);
    EXPECT_EQ(m.value, ms.value);
    EXPECT_EQ(m.ci_low, ms.ci_low);
    EXPECT_EQ(m.n_used, ms.n_used);
    EXPECT_EQ(m.n_duplicates, ms.n_duplicates);
  }
  EXPECT_EQ(twonn_and_mle(rep.view(), to, MleOptions{}).first.n_duplicates, 30);
  // Too few distinct points for MLE (k2 = 20): TwoNN's value and MLE's own error.
  const Points tiny = testdata::sphere(15, 2, 3, 53);
  EXPECT_THROW(twonn_and_mle(tiny.view(), to, MleOptions{}), InputError);
}

TEST(IdErrors, TinyAndDegenerateInputsGiveClearErrors) {
  const Points two = testdata::gaussian(2, 2, 5, 0, 61);
  try {
    twonn(two.view("tiny.h5"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "tiny.h5: TwoNN needs at least 3 distinct points, got 2 (0 duplicates removed)");
  }
  Points same;
  same.rows = 100;
  same.cols = 3;
  same.data.assign(300, 1.5f);
  EXPECT_THROW(twonn(same.view()), InputError);
  EXPECT_THROW(mle(same.view()), InputError);
  EXPECT_THROW(pca(same.view()), InputError);
  const Points twenty = testdata::gaussian(20, 3, 4, 0, 62);
  EXPECT_THROW(mle(twenty.view()), InputError);  // needs > k2 = 20 points
  MleOptions o;
  o.k1 = 5;
  o.k2 = 4;
  EXPECT_THROW(mle(twenty.view(), o), InputError);
  TwoNnOptions t;
  t.fit_fraction = 0;
  EXPECT_THROW(twonn(twenty.view(), t), InputError);
  const Points one = testdata::gaussian(1, 2, 5, 0, 63);
  EXPECT_THROW(pca(one.view()), InputError);
}

// Reference spectrum: squared singular values of the centred data / (N − 1).
std::vector<double> reference_spectrum(const Points& p) {
  Eigen::MatrixXd x(p.rows, p.cols);
  for (int64_t i = 0; i < p.rows; ++i)
    for (int64_t j = 0; j < p.cols; ++j) x(i, j) = p.data[i * p.cols + j];
  x.rowwise() -= x.colwise().mean();
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(x);
  std::vector<double> out;
  for (int64_t i = 0; i < std::min(p.rows - 1, p.cols); ++i)
    out.push_back(svd.singularValues()[i] * svd.singularValues()[i] / double(p.rows - 1));
  return out;
}

TEST(IdPca, SpectrumMatchesSvdInBothShapes) {
  for (auto shape : {std::pair<int, int>{200, 12}, std::pair<int, int>{15, 40}}) {  // covariance and Gram paths
    const Points p = testdata::gaussian(shape.first, 8, shape.second, 0.3, 71);
    const PcaEstimate e = pca(p.view());
    const std::vector<double> ref = reference_spectrum(p);
    ASSERT_EQ(e.eigenvalues.size(), ref.size());
    for (size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR(e.eigenvalues[i], ref[i], 1e-9 * ref[0]) << i;
  }
}

TEST(IdPca, PlantedSpectrumAndParticipationRatio) {
  // Axis scales 4,3,2,1 then 0: exact variances (unit-variance columns) give λ ∝ 16,9,4,1 → 90% at 3
  // components (29/30 > 0.9 > 25/30) and PR = 30²/354.
  testdata::Rng rng(81);
  const int n = 20000;
  Points p;
  p.rows = n;
  p.cols = 6;
  for (int i = 0; i < n; ++i) {
    const double s[6] = {4, 3, 2, 1, 0, 0};
    for (int j = 0; j < 6; ++j) p.data.push_back(float(s[j] * rng.normal()));
  }
  const PcaEstimate e = pca(p.view());
  EXPECT_EQ(e.n_components, 3);
  EXPECT_NEAR(e.participation_ratio, 900.0 / 354.0, 0.05);
  PcaOptions o;
  o.variance_fraction = 0.99;
  EXPECT_EQ(pca(p.view(), o).n_components, 4);
  // Isotropic d-Gaussian in 768 dims: PR ≈ d.
  for (int d : {5, 10}) EXPECT_NEAR(pca(testdata::gaussian(2000, d, 768, 1e-3, 82 + d).view()).participation_ratio, d, 0.1 * d);
}

}  // namespace
}  // namespace ps::analysis
