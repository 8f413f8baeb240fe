// TwoNN (Facco et al. 2017) and Levina–Bickel MLE over exact nearest neighbours.
#include <algorithm>
#include <cmath>
#include <string>

#include "analysis/id/intrinsic_dimension.h"
#include "models/util/error.h"

namespace ps::analysis {
namespace {

void check_ci(const CiOptions& ci, const std::string& name) {
  if (ci.reps < 0) throw InputError(where(name, "bootstrap reps must be >= 0"));
  if (!(ci.confidence > 0 && ci.confidence < 1)) throw InputError(where(name, "confidence must be in (0, 1)"));
}

// Percentile interval of a statistic recomputed on `reps` resamples (with replacement) of n items.
template <class Stat>
void per_point_ci(int64_t n, const CiOptions& ci, Stat stat, IdEstimate& e) {
  if (ci.reps == 0) return;
  SplitMix64 rng(ci.seed);
  std::vector<int64_t> idx(n);
  std::vector<double> values;
  values.reserve(ci.reps);
  for (int r = 0; r < ci.reps; ++r) {
    for (auto& i : idx) i = int64_t(rng.below(uint64_t(n)));
    values.push_back(stat(idx));
  }
  std::sort(values.begin(), values.end());
  const double alpha = 1.0 - ci.confidence;
  e.ci_low = percentile_sorted(values, alpha / 2);
  e.ci_high = percentile_sorted(values, 1 - alpha / 2);
}

// log μ values, in any order.
double twonn_value(std::vector<double> log_mu, const TwoNnOptions& opt) {
  const int64_t n = int64_t(log_mu.size());
  if (opt.fit == TwoNnOptions::Fit::ClosedFormMle) {
    double s = 0;
    for (double v : log_mu) s += v;
    return double(n - 1) / s;
  }
  std::sort(log_mu.begin(), log_mu.end());
  // F(i) = i/N for the i-th smallest μ; i = N would give −log 0, so the fit stops at N − 1.
  const int64_t m = std::clamp<int64_t>(int64_t(std::floor(opt.fit_fraction * double(n))), 1, n - 1);
  double sxy = 0, sxx = 0;
  for (int64_t i = 1; i <= m; ++i) {
    const double xv = log_mu[i - 1], yv = -std::log1p(-double(i) / double(n));
    sxy += xv * yv;
    sxx += xv * xv;
  }
  return sxy / sxx;
}

IdEstimate twonn_impl(const KnnResult& nn, const TwoNnOptions& opt, const std::string& name) {
  if (nn.k < 2) throw InputError(where(name, "TwoNN needs k >= 2 neighbours, got " + std::to_string(nn.k)));
  if (!(opt.fit_fraction > 0 && opt.fit_fraction <= 1)) throw InputError(where(name, "TwoNN fit_fraction must be in (0, 1]"));
  check_ci(opt.ci, name);
  std::vector<double> log_mu;
  log_mu.reserve(nn.n);
  for (int64_t i = 0; i < nn.n; ++i) {
    const double r1 = nn.distance(i, 0), r2 = nn.distance(i, 1);
    if (r1 > 0 && r2 > r1) log_mu.push_back(std::log(r2 / r1));  // drops r1 = 0 and r1 = r2
  }
  if (log_mu.size() < 3)
    throw InputError(where(name, "TwoNN: only " + std::to_string(log_mu.size()) +
                                     " points have 0 < r1 < r2; need at least 3"));
  IdEstimate e;
  e.n_used = int64_t(log_mu.size());
  e.value = twonn_value(log_mu, opt);
  per_point_ci(e.n_used, opt.ci, [&](const std::vector<int64_t>& idx) {
    std::vector<double> s(idx.size());
    for (size_t q = 0; q < idx.size(); ++q) s[q] = log_mu[idx[q]];
    return twonn_value(std::move(s), opt);
  }, e);
  return e;
}

void check_mle(const MleOptions& opt, const std::string& name) {
  if (opt.k1 < 2 || opt.k2 < opt.k1)
    throw InputError(where(name, "MLE needs 2 <= k1 <= k2, got k1 = " + std::to_string(opt.k1) + ", k2 = " + std::to_string(opt.k2)));
  if (opt.unbiased && opt.k1 < 3) throw InputError(where(name, "unbiased MLE (k-2) needs k1 >= 3"));
  check_ci(opt.ci, name);
}

IdEstimate mle_impl(const KnnResult& nn, const MleOptions& opt, const std::string& name) {
  check_mle(opt, name);
  if (nn.k < opt.k2) throw InputError(where(name, "MLE needs k2 = " + std::to_string(opt.k2) + " neighbours, kNN has " + std::to_string(nn.k)));
  const int nk = opt.k2 - opt.k1 + 1;
  // inv[p * nk + q] = 1 / m̂_k(x_p) = S / (k−1 or k−2), S = Σ_{j<k} log(T_k / T_j), for k = k1 + q.
  std::vector<double> inv;
  std::vector<double> logt(opt.k2);
  for (int64_t i = 0; i < nn.n; ++i) {
    const double t1 = nn.distance(i, 0);
    if (!(t1 > 0) || !(nn.distance(i, opt.k1 - 1) > t1)) continue;  // duplicates / all-equal radii: S = 0
    for (int j = 0; j < opt.k2; ++j) logt[j] = std::log(nn.distance(i, j));
    double prefix = 0;  // Σ_{j<k} log T_j
    for (int j = 0; j < opt.k1 - 1; ++j) prefix += logt[j];
    for (int k = opt.k1; k <= opt.k2; ++k) {
      const double s = double(k - 1) * logt[k - 1] - prefix;
      inv.push_back(s / double(opt.unbiased ? k - 2 : k - 1));
      prefix += logt[k - 1];
    }
  }
  const int64_t n = int64_t(inv.size()) / nk;
  if (n < 2) throw InputError(where(name, "MLE: only " + std::to_string(n) + " points have distinct neighbour radii; need at least 2"));
  auto stat = [&](const std::vector<int64_t>& idx) {
    double total = 0;
    for (int q = 0; q < nk; ++q) {
      double acc = 0;
      for (int64_t p : idx) acc += opt.inverse_mean ? inv[p * nk + q] : 1.0 / inv[p * nk + q];
      const double mean = acc / double(idx.size());
      total += opt.inverse_mean ? 1.0 / mean : mean;
    }
    return total / nk;
  };
  std::vector<int64_t> all(n);
  for (int64_t p = 0; p < n; ++p) all[p] = p;
  IdEstimate e;
  e.n_used = n;
  e.value = stat(all);
  per_point_ci(n, opt.ci, stat, e);
  return e;
}

// Dedup (if asked) and check the distinct count before any kNN work. `view` points at x itself or
// at `owned` (the distinct rows).
struct Prepared {
  OwnedPoints owned;
  PointsView view;
  int64_t n_duplicates = 0;
};

void prepare(const PointsView& x, bool dedup, int64_t min_points, const std::string& method, Prepared& p) {
  validate_points(x);
  p.view = x;
  if (dedup) {
    Deduplicated dd = remove_duplicates(x);
    p.n_duplicates = dd.n_duplicates;
    if (dd.n_duplicates > 0) {
      p.owned = std::move(dd.points);
      p.view = p.owned.view();
    }
  }
  if (p.view.rows < min_points)
    throw InputError(where(x.name, method + " needs at least " + std::to_string(min_points) + " distinct points, got " +
                                       std::to_string(p.view.rows) + " (" + std::to_string(p.n_duplicates) +
                                       " duplicates removed)"));
}

}  // namespace

IdEstimate twonn_from_knn(const KnnResult& nn, const TwoNnOptions& opt) { return twonn_impl(nn, opt, "<knn>"); }
IdEstimate mle_from_knn(const KnnResult& nn, const MleOptions& opt) { return mle_impl(nn, opt, "<knn>"); }

IdEstimate twonn(const PointsView& x, const TwoNnOptions& opt) {
  Prepared p;
  prepare(x, opt.remove_duplicates, 3, "TwoNN", p);
  IdEstimate e = twonn_impl(knn(p.view, 2, opt.knn), opt, x.name);
  e.n_duplicates = p.n_duplicates;
  return e;
}

IdEstimate mle(const PointsView& x, const MleOptions& opt) {
  check_mle(opt, x.name);
  Prepared p;
  prepare(x, opt.remove_duplicates, int64_t(opt.k2) + 1, "MLE with k2 = " + std::to_string(opt.k2), p);
  IdEstimate e = mle_impl(knn(p.view, opt.k2, opt.knn), opt, x.name);
  e.n_duplicates = p.n_duplicates;
  return e;
}

std::pair<IdEstimate, IdEstimate> twonn_and_mle(const PointsView& x, const TwoNnOptions& to, const MleOptions& mo) {
  check_mle(mo, x.name);
  if (to.remove_duplicates != mo.remove_duplicates) return {twonn(x, to), mle(x, mo)};
  Prepared p;
  prepare(x, to.remove_duplicates, 3, "TwoNN", p);
  if (p.view.rows < int64_t(mo.k2) + 1) return {twonn(x, to), mle(x, mo)};
  const KnnResult nn = knn(p.view, std::max(2, mo.k2), to.knn);
  std::pair<IdEstimate, IdEstimate> out{twonn_impl(nn, to, x.name), mle_impl(nn, mo, x.name)};
  out.first.n_duplicates = out.second.n_duplicates = p.n_duplicates;
  return out;
}

Estimator twonn_estimator(TwoNnOptions opt) {
  opt.ci.reps = 0;
  return [opt](const PointsView& p) { return twonn(p, opt).value; };
}

Estimator mle_estimator(MleOptions opt) {
  opt.ci.reps = 0;
  return [opt](const PointsView& p) { return mle(p, opt).value; };
}

}  // namespace ps::analysis
