#include "probes/normalize.h"

#include <cmath>

#include "models/util/error.h"

namespace ps::probes {

const char* normalize_name(NormalizeMode m) {
  switch (m) {
    case NormalizeMode::none: return "none";
    case NormalizeMode::scale: return "scale";
    case NormalizeMode::standardize: return "standardize";
  }
  return "?";
}

NormalizeMode parse_normalize(const std::string& text) {
  for (NormalizeMode m : {NormalizeMode::none, NormalizeMode::scale, NormalizeMode::standardize})
    if (text == normalize_name(m)) return m;
  throw InputError("--normalize: unknown mode '" + text + "' (none, scale or standardize)");
}

void Normalization::apply(float* rows, int64_t n_rows, int dim) const {
  if (identity() || n_rows == 0) return;
  if ((!shift.empty() && shift.size() != static_cast<size_t>(dim)) ||
      (scale.size() != 1 && scale.size() != static_cast<size_t>(dim)))
    throw InputError("normalization: statistics for width " + std::to_string(scale.size() == 1 ? shift.size() : scale.size()) +
                     " applied to vectors of width " + std::to_string(dim));
  const bool per_coord = scale.size() > 1;
  for (int64_t r = 0; r < n_rows; ++r) {
    float* x = rows + r * dim;
    for (int j = 0; j < dim; ++j) {
      const float v = shift.empty() ? x[j] : x[j] - shift[j];
      x[j] = v * (per_coord ? scale[j] : scale[0]);
    }
  }
}

void Normalization::apply(std::vector<float>& rows, int dim) const {
  if (dim <= 0 || rows.size() % static_cast<size_t>(dim)) throw InputError("normalization: rows are not a multiple of the width");
  apply(rows.data(), static_cast<int64_t>(rows.size() / dim), dim);
}

Normalization fit_normalization(NormalizeMode mode, const std::vector<const std::vector<float>*>& blocks, int dim) {
  Normalization n;
  n.mode = mode;
  if (mode == NormalizeMode::none) return n;
  if (dim <= 0) throw InputError("normalization: width must be positive");
  std::vector<double> sum(dim, 0.0), sq(dim, 0.0);
  int64_t rows = 0;
  for (const std::vector<float>* b : blocks) {
    if (b->size() % static_cast<size_t>(dim)) throw InputError("normalization: rows are not a multiple of the width");
    const int64_t nr = static_cast<int64_t>(b->size() / dim);
    for (int64_t r = 0; r < nr; ++r)
      for (int j = 0; j < dim; ++j) {
        const double v = (*b)[r * dim + j];
        sum[j] += v, sq[j] += v * v;
      }
    rows += nr;
  }
  if (rows == 0) throw InputError("normalization: no train vectors to take statistics from");
  if (mode == NormalizeMode::scale) {
    double ms = 0;
    for (int j = 0; j < dim; ++j) ms += sq[j];
    ms /= static_cast<double>(rows) * dim;
    n.scale = {static_cast<float>(ms > 0 ? 1.0 / std::sqrt(ms) : 1.0)};
    return n;
  }
  n.shift.resize(dim), n.scale.resize(dim);
  for (int j = 0; j < dim; ++j) {
    const double mean = sum[j] / rows, var = std::max(0.0, sq[j] / rows - mean * mean);
    n.shift[j] = static_cast<float>(mean);
    n.scale[j] = static_cast<float>(var > 0 ? 1.0 / std::sqrt(var) : 1.0);
  }
  return n;
}

}  // namespace ps::probes
