#include "probes/dataset.h"

#include <cmath>

#include "models/util/error.h"

namespace ps::probes {

void validate(const ProbeDataset& ds, const std::string& name) {
  auto fail = [&](size_t i, const std::string& what) {
    throw InputError(where(name, "sample " + std::to_string(i) + ": " + what));
  };
  if (ds.dim <= 0) throw InputError(where(name, "dim must be positive, got " + std::to_string(ds.dim)));
  if (ds.n_c_labels <= 0 || ds.n_u_labels <= 0) throw InputError(where(name, "empty label vocabulary"));
  for (size_t i = 0; i < ds.samples.size(); ++i) {
    const ProbeSample& s = ds.samples[i];
    if (s.n_words <= 0) fail(i, "no words");
    const size_t n = static_cast<size_t>(s.n_words);
    if (s.vectors.size() != n * static_cast<size_t>(ds.dim))
      fail(i, "vectors hold " + std::to_string(s.vectors.size()) + " floats, expected n_words*dim = " +
                  std::to_string(n * ds.dim));
    if (s.d.size() != n - 1 || s.c.size() != n - 1 || s.u.size() != n)
      fail(i, "d/c/u lengths " + std::to_string(s.d.size()) + "/" + std::to_string(s.c.size()) + "/" +
                  std::to_string(s.u.size()) + " do not match n_words " + std::to_string(n));
    for (int32_t v : s.d)
      if (v < 0) fail(i, "negative distance " + std::to_string(v));
    for (int32_t v : s.c)
      if (v < 0 || v >= ds.n_c_labels) fail(i, "c label id " + std::to_string(v) + " out of range");
    for (int32_t v : s.u)
      if (v < 0 || v >= ds.n_u_labels) fail(i, "u label id " + std::to_string(v) + " out of range");
    for (float f : s.vectors)
      if (!std::isfinite(f)) fail(i, "non-finite value in vectors");
  }
}

int64_t total_words(const ProbeDataset& ds) {
  int64_t n = 0;
  for (const auto& s : ds.samples) n += s.n_words;
  return n;
}

}  // namespace ps::probes
