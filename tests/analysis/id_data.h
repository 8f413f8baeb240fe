#pragma once
// Point sets of known intrinsic dimension for the ID tests (deterministic, seeded; no std distributions).
#include <cmath>
#include <cstdint>
#include <vector>

#include "analysis/id/intrinsic_dimension.h"

namespace ps::analysis::testdata {

class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  double uniform() { return double(g_.next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double normal() {  // Box–Muller
    const double u = 1.0 - uniform(), v = uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v);
  }
 private:
  SplitMix64 g_;
};

struct Points {
  std::vector<float> data;
  int64_t rows = 0, cols = 0;
  PointsView view(const char* name = "<test>") const { return PointsView(data.data(), rows, cols, name); }
};

// D × d matrix (row-major) with orthonormal columns: Gram–Schmidt on Gaussian vectors.
inline std::vector<double> orthonormal(int64_t D, int64_t d, Rng& rng) {
  std::vector<double> q(D * d);
  for (int64_t c = 0; c < d; ++c) {
    std::vector<double> v(D);
    for (auto& e : v) e = rng.normal();
    for (int pass = 0; pass < 2; ++pass)  // twice is enough for orthogonality to round-off
      for (int64_t p = 0; p < c; ++p) {
        double dot = 0;
        for (int64_t r = 0; r < D; ++r) dot += v[r] * q[r * d + p];
        for (int64_t r = 0; r < D; ++r) v[r] -= dot * q[r * d + p];
      }
    double nrm = 0;
    for (double e : v) nrm += e * e;
    nrm = std::sqrt(nrm);
    for (int64_t r = 0; r < D; ++r) q[r * d + c] = v[r] / nrm;
  }
  return q;
}

// Embeds n × d latent points (row-major) into D dims by a random isometry, plus N(0, noise²) per dim.
inline Points embed(const std::vector<double>& z, int64_t n, int64_t d, int64_t D, double noise, Rng& rng) {
  Points p;
  p.rows = n;
  p.cols = D;
  p.data.resize(n * D);
  if (D == d && noise == 0) {
    for (int64_t i = 0; i < n * d; ++i) p.data[i] = float(z[i]);
    return p;
  }
  const std::vector<double> q = orthonormal(D, d, rng);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t r = 0; r < D; ++r) {
      double s = 0;
      for (int64_t c = 0; c < d; ++c) s += q[r * d + c] * z[i * d + c];
      p.data[i * D + r] = float(s + noise * rng.normal());
    }
  return p;
}

inline Points gaussian(int64_t n, int64_t d, int64_t D, double noise, uint64_t seed) {
  Rng rng(seed);
  std::vector<double> z(n * d);
  for (auto& e : z) e = rng.normal();
  return embed(z, n, d, D, noise, rng);
}

// Unit d-sphere in R^{d+1}, optionally embedded in D ≥ d+1 dims.
inline Points sphere(int64_t n, int64_t d, int64_t D, uint64_t seed) {
  Rng rng(seed);
  std::vector<double> z(n * (d + 1));
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t c = 0; c <= d; ++c) s += (z[i * (d + 1) + c] = rng.normal()) * z[i * (d + 1) + c];
    for (int64_t c = 0; c <= d; ++c) z[i * (d + 1) + c] /= std::sqrt(s);
  }
  return embed(z, n, d + 1, D, 0.0, rng);
}

// Swiss roll (ID 2): t = 1.5π(1 + 2u), height 21v → (t cos t, height, t sin t), embedded in D ≥ 3.
inline Points swiss_roll(int64_t n, int64_t D, uint64_t seed) {
  Rng rng(seed);
  std::vector<double> z(n * 3);
  for (int64_t i = 0; i < n; ++i) {
    const double t = 1.5 * M_PI * (1 + 2 * rng.uniform()), h = 21 * rng.uniform();
    z[i * 3] = t * std::cos(t);
    z[i * 3 + 1] = h;
    z[i * 3 + 2] = t * std::sin(t);
  }
  return embed(z, n, 3, D, 0.0, rng);
}

inline Points hypercube(int64_t n, int64_t d, uint64_t seed) {
  Rng rng(seed);
  std::vector<double> z(n * d);
  for (auto& e : z) e = rng.uniform();
  return embed(z, n, d, d, 0.0, rng);
}

}  // namespace ps::analysis::testdata
