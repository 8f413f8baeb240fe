// Linear intrinsic dimension from the covariance spectrum.
#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <functional>

#include "analysis/id/intrinsic_dimension.h"
#include "models/util/error.h"

namespace ps::analysis {

PcaEstimate pca(const PointsView& x, const PcaOptions& opt) {
  if (!(opt.variance_fraction > 0 && opt.variance_fraction <= 1))
    throw InputError(where(x.name, "PCA variance_fraction must be in (0, 1]"));
  validate_points(x);
  PcaEstimate out;
  OwnedPoints owned;
  PointsView v = x;
  if (opt.remove_duplicates) {
    Deduplicated dd = remove_duplicates(x);
    out.n_duplicates = dd.n_duplicates;
    owned = std::move(dd.points);
    v = owned.view();
  }
  const int64_t n = v.rows, d = v.cols;
  if (n < 2)
    throw InputError(where(x.name, "PCA needs at least 2 distinct points, got " + std::to_string(n)));

  Eigen::VectorXd mean = Eigen::VectorXd::Zero(d);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) mean[j] += v.row(i)[j];
  mean /= double(n);

  // Scatter in double from row chunks (bounded memory). D×D when D ≤ N, else the N×N Gram matrix,
  // whose non-zero eigenvalues are the same.
  const bool gram = n < d;
  const int64_t m = gram ? n : d;
  Eigen::MatrixXd s = Eigen::MatrixXd::Zero(m, m);
  const int64_t chunk = 512;
  Eigen::MatrixXd a;
  if (gram) a.resize(d, n);  // columns = centred points
  for (int64_t r0 = 0; r0 < n; r0 += chunk) {
    const int64_t nr = std::min(chunk, n - r0);
    Eigen::MatrixXd block(d, nr);
    for (int64_t i = 0; i < nr; ++i)
      for (int64_t j = 0; j < d; ++j) block(j, i) = double(v.row(r0 + i)[j]) - mean[j];
    if (gram) a.middleCols(r0, nr) = block;
    else s.selfadjointView<Eigen::Lower>().rankUpdate(block);
  }
  if (gram) s.selfadjointView<Eigen::Lower>().rankUpdate(a.transpose());
  s /= double(n - 1);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(s, Eigen::EigenvaluesOnly);  // reads the lower triangle
  if (eig.info() != Eigen::Success) throw RuntimeError(where(x.name, "PCA eigen-decomposition did not converge"));

  std::vector<double> lam(eig.eigenvalues().data(), eig.eigenvalues().data() + m);
  std::sort(lam.begin(), lam.end(), std::greater<double>());
  lam.resize(size_t(std::min(n - 1, d)));
  double total = 0, sq = 0;
  for (double& l : lam) {
    l = std::max(l, 0.0);  // round-off below zero
    total += l;
    sq += l * l;
  }
  if (!(total > 0)) throw InputError(where(x.name, "PCA: the points have zero variance"));
  double cum = 0;
  out.n_components = int64_t(lam.size());
  for (size_t i = 0; i < lam.size(); ++i) {
    cum += lam[i];
    // Relative slack so that an exactly representable 90% split is not missed by round-off.
    if (cum >= opt.variance_fraction * total * (1 - 1e-12)) {
      out.n_components = int64_t(i + 1);
      break;
    }
  }
  out.participation_ratio = total * total / sq;
  out.eigenvalues = std::move(lam);
  out.n_used = n;
  return out;
}

Estimator pca_n_components_estimator(PcaOptions opt) {
  return [opt](const PointsView& p) { return double(pca(p, opt).n_components); };
}

Estimator pca_participation_ratio_estimator(PcaOptions opt) {
  return [opt](const PointsView& p) { return pca(p, opt).participation_ratio; };
}

}  // namespace ps::analysis
