// Intrinsic-dimension timing: exact blocked-GEMM kNN vs a naive double loop, and TwoNN / MLE end to end.
// Data: a d-dim Gaussian linearly embedded in D dims plus small noise (activation-like, known ID).
// Usage: id_bench [n=20000] [dim=768] [latent=10] [threads=2] [naive_queries=200] [dump.f32]
// dump.f32: the points as raw float32, row-major (tests/bench/id_vs_numpy.py runs a NumPy baseline on them).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "analysis/id/intrinsic_dimension.h"
#include "tests/analysis/id_data.h"

using namespace ps::analysis;

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 20000;
  const int64_t dim = argc > 2 ? std::atoll(argv[2]) : 768;
  const int64_t latent = argc > 3 ? std::atoll(argv[3]) : 10;
  const int threads = argc > 4 ? std::atoi(argv[4]) : 2;
  const int64_t nq = argc > 5 ? std::atoll(argv[5]) : 200;
  if (n < 30 || dim < 1 || latent < 1 || latent > dim || threads < 1 || nq < 1 || nq > n) {
    std::fprintf(stderr, "usage: id_bench [n>=30] [dim] [latent<=dim] [threads>=1] [naive_queries<=n]\n");
    return 2;
  }
  std::printf("points %lld x %lld (latent Gaussian d=%lld + noise 0.01), threads %d\n", (long long)n, (long long)dim,
              (long long)latent, threads);
  const auto pts = testdata::gaussian(n, latent, dim, 0.01, 1);
  const PointsView v = pts.view("bench");
  if (argc > 6) {
    std::ofstream f(argv[6], std::ios::binary);
    f.write(reinterpret_cast<const char*>(pts.data.data()), static_cast<std::streamsize>(4 * pts.data.size()));
    if (!f) {
      std::fprintf(stderr, "id_bench: cannot write %s\n", argv[6]);
      return 2;
    }
  }
  KnnOptions ko;
  ko.threads = threads;

  auto t0 = std::chrono::steady_clock::now();
  const KnnResult blocked = knn(v, 20, ko);
  const double t_blocked = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  const KnnResult naive = knn_bruteforce(v, 20, nq);
  const double t_naive = seconds_since(t0) * double(n) / double(nq);  // extrapolated to all n queries
  bool equal = true;
  for (int64_t i = 0; i < nq * 20; ++i) equal &= blocked.index[i] == naive.index[i] && blocked.dist[i] == naive.dist[i];
  std::printf("kNN k=20 blocked GEMM: %.2f s (fallback rows %lld)\n", t_blocked, (long long)blocked.n_fallback);
  std::printf("kNN k=20 naive loop:   %.2f s (extrapolated from %lld queries, 1 thread)\n", t_naive, (long long)nq);
  std::printf("speed-up blocked/naive: %.1fx; first %lld rows identical: %s\n", t_naive / t_blocked, (long long)nq,
              equal ? "yes" : "NO");

  TwoNnOptions to;
  to.knn = ko;
  t0 = std::chrono::steady_clock::now();
  const IdEstimate tw = twonn(v, to);
  std::printf("TwoNN (dedup + kNN k=2 + fit): %.2f s  ID %.3f (n_used %lld, duplicates %lld)\n", seconds_since(t0), tw.value,
              (long long)tw.n_used, (long long)tw.n_duplicates);
  MleOptions mo;
  mo.knn = ko;
  t0 = std::chrono::steady_clock::now();
  const IdEstimate ml = mle(v, mo);
  std::printf("MLE k=10..20 (dedup + kNN k=20): %.2f s  ID %.3f\n", seconds_since(t0), ml.value);
  t0 = std::chrono::steady_clock::now();
  const auto both = twonn_and_mle(v, to, mo);
  std::printf("TwoNN + MLE from one shared kNN (what `probescope id` runs): %.2f s  ID %.3f / %.3f\n", seconds_since(t0),
              both.first.value, both.second.value);
  to.ci.reps = 200;
  t0 = std::chrono::steady_clock::now();
  const IdEstimate twc = twonn(v, to);
  std::printf("TwoNN + 200 per-point bootstrap reps: %.2f s  ID %.3f [%.3f, %.3f]\n", seconds_since(t0), twc.value,
              twc.ci_low, twc.ci_high);
  t0 = std::chrono::steady_clock::now();
  const PcaEstimate pc = pca(v);
  std::printf("PCA: %.2f s  n90 %lld  PR %.3f\n", seconds_since(t0), (long long)pc.n_components, pc.participation_ratio);
  return equal ? 0 : 1;
}
