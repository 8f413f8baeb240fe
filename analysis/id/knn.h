#pragma once
// Exact k-nearest neighbours (Euclidean) of every point among all the others.
//
// Blocked: candidates come from squared distances ‖x‖²+‖y‖²−2x·y computed with a float GEMM over
// block × block tiles of the centred data; only tiles on or above the diagonal are computed, each
// feeding both its rows' and its columns' candidate heaps. Memory: O(N·D + threads·(tile + N·k)).
// The kept candidates (k + margin per row) are then re-measured exactly in double from the
// original floats, and a rounding-error bound on the GEMM proves that no non-candidate could be
// closer; rows where the proof fails are recomputed by brute force. Results therefore equal
// knn_bruteforce() bit for bit (ties broken by lower index).
#include <cstdint>
#include <vector>

#include "analysis/id/points.h"

namespace ps::analysis {

struct KnnOptions {
  int threads = 2;           // worker threads over tiles
  int64_t block = 1024;      // square tile side; each tile pair (R ≤ C) is computed once (symmetry)
  int margin = 16;           // extra float-ranked candidates kept per row for the exact re-check
};

struct KnnResult {
  int64_t n = 0;
  int k = 0;
  std::vector<int64_t> index;  // n × k, row-major; neighbours ascending by distance
  std::vector<double> dist;    // n × k Euclidean distances, exact in double
  int64_t n_fallback = 0;      // rows whose float candidate set could not be proven and were redone
  int64_t neighbor(int64_t i, int j) const { return index[i * k + j]; }
  double distance(int64_t i, int j) const { return dist[i * k + j]; }
};

// Throws InputError if k < 1 or k >= x.rows, or x is invalid (see validate_points).
KnnResult knn(const PointsView& x, int k, const KnnOptions& opt = {});

// Reference: a plain double loop over all pairs, for the first n_queries rows (all rows if < 0).
// Single-threaded; used by tests and as the benchmark baseline.
KnnResult knn_bruteforce(const PointsView& x, int k, int64_t n_queries = -1);

// Exact squared distance in double between two float rows (the one both paths use).
double squared_distance(const float* a, const float* b, int64_t d);

}  // namespace ps::analysis
