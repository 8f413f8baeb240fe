#include "analysis/id/knn.h"

// Each worker runs its own single-threaded GEMM; never let Eigen spawn threads underneath ours.
#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <limits>
#include <thread>
#include <utility>

#include "models/util/error.h"

namespace ps::analysis {

double squared_distance(const float* a, const float* b, int64_t d) {
  // Four fixed partial sums: vectorisable without reassociation, so the result is reproducible.
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t j = 0;
  for (; j + 4 <= d; j += 4) {
    const double t0 = double(a[j]) - double(b[j]), t1 = double(a[j + 1]) - double(b[j + 1]);
    const double t2 = double(a[j + 2]) - double(b[j + 2]), t3 = double(a[j + 3]) - double(b[j + 3]);
    s0 += t0 * t0; s1 += t1 * t1; s2 += t2 * t2; s3 += t3 * t3;
  }
  for (; j < d; ++j) {
    const double t = double(a[j]) - double(b[j]);
    s0 += t * t;
  }
  return (s0 + s1) + (s2 + s3);
}

namespace {

using RowMatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Exact = std::pair<double, int64_t>;  // (squared distance, index): lexicographic = tie by index

void check_k(const PointsView& x, int k) {
  if (k < 1 || k >= x.rows)
    throw InputError(where(x.name, "k = " + std::to_string(k) + " nearest neighbours need 1 <= k < number of points (" +
                                       std::to_string(x.rows) + ")"));
}

// Writes the k smallest of `c` (sorted) into row i of the result.
void write_row(KnnResult& r, int64_t i, std::vector<Exact>& c) {
  std::partial_sort(c.begin(), c.begin() + r.k, c.end());
  for (int j = 0; j < r.k; ++j) {
    r.index[i * r.k + j] = c[j].second;
    r.dist[i * r.k + j] = std::sqrt(c[j].first);
  }
}

void brute_row(const PointsView& x, KnnResult& r, int64_t i, std::vector<Exact>& buf) {
  buf.clear();
  for (int64_t j = 0; j < x.rows; ++j)
    if (j != i) buf.emplace_back(squared_distance(x.row(i), x.row(j), x.cols), j);
  write_row(r, i, buf);
}

struct Approx {
  float a;    // approximate d² minus the row's own norm
  int32_t j;  // the other point
  bool operator<(const Approx& o) const { return a < o.a; }  // max-heap on a
};

// One thread's candidate heaps for every row (a tile updates rows on both sides of the diagonal).
struct Heaps {
  int64_t kc;
  std::vector<Approx> h;
  std::vector<int32_t> size;
  std::vector<float> thr;  // heap top once full, +inf before: a branch-light rejection test
  Heaps(int64_t n, int64_t k) : kc(k), h(n * k), size(n, 0), thr(n, std::numeric_limits<float>::infinity()) {}
  void offer(int64_t i, float a, int64_t j) {
    Approx* hp = h.data() + i * kc;
    int32_t& sz = size[i];
    if (sz < kc) {
      hp[sz++] = {a, int32_t(j)};
      std::push_heap(hp, hp + sz);
      if (sz == kc) thr[i] = hp[0].a;
    } else {
      std::pop_heap(hp, hp + kc);
      hp[kc - 1] = {a, int32_t(j)};
      std::push_heap(hp, hp + kc);
      thr[i] = hp[0].a;
    }
  }
};

}  // namespace

KnnResult knn_bruteforce(const PointsView& x, int k, int64_t n_queries) {
  validate_points(x);
  check_k(x, k);
  const int64_t nq = (n_queries < 0 || n_queries > x.rows) ? x.rows : n_queries;
  KnnResult r;
  r.n = nq;
  r.k = k;
  r.index.resize(nq * k);
  r.dist.resize(nq * k);
  std::vector<Exact> buf;
  buf.reserve(x.rows);
  for (int64_t i = 0; i < nq; ++i) brute_row(x, r, i, buf);
  return r;
}

KnnResult knn(const PointsView& x, int k, const KnnOptions& opt) {
  validate_points(x);
  check_k(x, k);
  const int64_t n = x.rows, d = x.cols;
  if (n > std::numeric_limits<int32_t>::max()) throw InputError(where(x.name, "kNN supports at most 2^31 - 1 points"));
  const int64_t kc = std::min<int64_t>(n - 1, k + std::max(0, opt.margin));
  const int64_t bs = std::max<int64_t>(1, std::min(opt.block, n));
  const int threads = std::max(1, opt.threads);

  // Centre first: distances are unchanged, while ‖x‖² (and so the GEMM's cancellation error) shrinks,
  // which matters for activations with a large common offset.
  std::vector<double> mean(d, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) mean[j] += x.row(i)[j];
  for (double& m : mean) m /= double(n);
  RowMatF c(n, d);
  std::vector<double> nd(n);
  std::vector<float> nf(n);
  double max_norm = 0;
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t j = 0; j < d; ++j) {
      c(i, j) = float(double(x.row(i)[j]) - mean[j]);
      s += double(c(i, j)) * double(c(i, j));
    }
    nd[i] = s;
    nf[i] = float(s);
    max_norm = std::max(max_norm, std::sqrt(s));
  }
  // |approx d² − true d²| ≤ (2D + 16)·u·(‖c_i‖ + max‖c‖)²: the GEMM dot product (γ_D per term,
  // twice), the rounded norms, the final additions and the centring rounding, with slack.
  const double err_factor = (2.0 * double(d) + 16.0) * std::ldexp(1.0, -24);

  KnnResult r;
  r.n = n;
  r.k = k;
  r.index.resize(n * k);
  r.dist.resize(n * k);

  // Phase 1: tiles (R ≤ C) in parallel, each thread into its own heaps.
  const int64_t nb = (n + bs - 1) / bs;
  std::vector<std::pair<int64_t, int64_t>> tiles;
  for (int64_t rb = 0; rb < nb; ++rb)
    for (int64_t cb = rb; cb < nb; ++cb) tiles.emplace_back(rb, cb);
  std::vector<Heaps> heaps;
  for (int w = 0; w < threads; ++w) heaps.emplace_back(n, kc);
  std::atomic<int64_t> next{0};
  auto tile_worker = [&](int w) {
    Heaps& hp = heaps[w];
    RowMatF g(bs, bs);
    std::vector<float> t(bs);
    for (int64_t q; (q = next.fetch_add(1)) < int64_t(tiles.size());) {
      const int64_t r0 = tiles[q].first * bs, c0 = tiles[q].second * bs;
      const int64_t nr = std::min(bs, n - r0), nc = std::min(bs, n - c0);
      const bool diagonal = r0 == c0;
      g.topLeftCorner(nr, nc).noalias() = c.middleRows(r0, nr) * c.middleRows(c0, nc).transpose();
      for (int64_t i = 0; i < nr; ++i) {
        const int64_t gi = r0 + i;
        const float* gr = g.data() + i * bs;
        for (int64_t j = 0; j < nc; ++j) t[j] = nf[c0 + j] - 2.0f * gr[j];  // row side
        for (int64_t j = 0; j < nc; ++j)
          if (t[j] < hp.thr[gi] && !(diagonal && j == i)) hp.offer(gi, t[j], c0 + j);
        if (diagonal) continue;  // the diagonal tile already holds both orders of each pair
        const float nfi = nf[gi];
        const float* thr = hp.thr.data() + c0;
        for (int64_t j = 0; j < nc; ++j) {  // column side: point gi as a candidate for c0 + j
          const float a = nfi - 2.0f * gr[j];
          if (a < thr[j]) hp.offer(c0 + j, a, gi);
        }
      }
    }
  };

  // Phase 2: per row, merge the threads' heaps, keep the kc best by approximation, re-measure them
  // exactly and prove (or redo) the row.
  std::atomic<int64_t> next_row{0}, n_fallback{0};
  auto row_worker = [&]() {
    std::vector<Approx> u;
    std::vector<Exact> exact, brute;
    const int64_t chunk = 256;
    for (int64_t s0; (s0 = next_row.fetch_add(chunk)) < n;) {
      for (int64_t gi = s0; gi < std::min(n, s0 + chunk); ++gi) {
        u.clear();
        for (const Heaps& hp : heaps) u.insert(u.end(), hp.h.begin() + gi * kc, hp.h.begin() + gi * kc + hp.size[gi]);
        // Every pair was offered to exactly one thread, and a heap rejects only when full, so the
        // union holds ≥ kc entries and any point outside the kc best has a ≥ the kc-th best.
        std::nth_element(u.begin(), u.begin() + (kc - 1), u.end());
        const float worst = u[kc - 1].a;
        exact.clear();
        for (int64_t q = 0; q < kc; ++q) exact.emplace_back(squared_distance(x.row(gi), x.row(u[q].j), d), u[q].j);
        std::partial_sort(exact.begin(), exact.begin() + k, exact.end());
        bool proven = kc == n - 1;  // every other point is a candidate
        if (!proven) {
          const double s = std::sqrt(nd[gi]) + max_norm;
          proven = double(worst) + nd[gi] - err_factor * s * s > exact[k - 1].first;
        }
        if (proven) {
          write_row(r, gi, exact);
        } else {
          n_fallback.fetch_add(1);
          brute_row(x, r, gi, brute);
        }
      }
    }
  };

  auto run = [&](auto&& fn) {  // a worker's exception (e.g. bad_alloc) is rethrown here, not terminate()
    std::vector<std::exception_ptr> errors(threads);
    std::vector<std::thread> pool;
    for (int w = 1; w < threads; ++w)
      pool.emplace_back([&, w] {
        try { fn(w); } catch (...) { errors[w] = std::current_exception(); }
      });
    try { fn(0); } catch (...) { errors[0] = std::current_exception(); }
    for (auto& th : pool) th.join();
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
  };
  run(tile_worker);
  run([&](int) { row_worker(); });
  r.n_fallback = n_fallback.load();
  return r;
}

}  // namespace ps::analysis
