#include "analysis/id/points.h"

#include <cmath>
#include <cstring>
#include <unordered_map>

#include "models/util/error.h"

namespace ps::analysis {

void validate_points(const PointsView& x) {
  if (x.data == nullptr || x.rows <= 0 || x.cols <= 0)
    throw InputError(where(x.name, "empty point set (" + std::to_string(x.rows) + " x " +
                                       std::to_string(x.cols) + ")"));
  if (x.stride != 0 && x.stride < x.cols)
    throw InputError(where(x.name, "row stride " + std::to_string(x.stride) + " < dims " + std::to_string(x.cols)));
  for (int64_t i = 0; i < x.rows; ++i) {
    const float* r = x.row(i);
    for (int64_t j = 0; j < x.cols; ++j)
      if (!std::isfinite(r[j]))
        throw InputError(where(x.name, "row " + std::to_string(i) + ", dim " + std::to_string(j) +
                                           ": non-finite value"));
  }
}

namespace {

// FNV-1a over the row's float bits with -0 folded onto +0 so value-equal rows hash equal.
uint64_t hash_row(const float* r, int64_t d) {
  uint64_t h = 1469598103934665603ull;
  for (int64_t j = 0; j < d; ++j) {
    float v = r[j] == 0.0f ? 0.0f : r[j];
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    h = (h ^ bits) * 1099511628211ull;
  }
  return h;
}

bool rows_equal(const float* a, const float* b, int64_t d) {
  for (int64_t j = 0; j < d; ++j)
    if (a[j] != b[j]) return false;  // value comparison: -0 == +0
  return true;
}

}  // namespace

Deduplicated remove_duplicates(const PointsView& x) {
  validate_points(x);
  Deduplicated out;
  std::unordered_multimap<uint64_t, int64_t> seen;  // hash -> kept source row
  seen.reserve(static_cast<size_t>(x.rows));
  for (int64_t i = 0; i < x.rows; ++i) {
    const uint64_t h = hash_row(x.row(i), x.cols);
    bool dup = false;
    auto range = seen.equal_range(h);
    for (auto it = range.first; it != range.second && !dup; ++it) dup = rows_equal(x.row(it->second), x.row(i), x.cols);
    if (dup) continue;
    seen.emplace(h, i);
    out.kept.push_back(i);
  }
  out.points = gather_rows(x, out.kept);
  out.n_duplicates = x.rows - out.points.rows;
  return out;
}

OwnedPoints gather_rows(const PointsView& x, const std::vector<int64_t>& rows) {
  OwnedPoints p;
  p.rows = static_cast<int64_t>(rows.size());
  p.cols = x.cols;
  p.name = x.name;
  p.data.resize(static_cast<size_t>(p.rows * p.cols));
  for (int64_t i = 0; i < p.rows; ++i) {
    if (rows[i] < 0 || rows[i] >= x.rows)
      throw InputError(where(x.name, "row index " + std::to_string(rows[i]) + " out of range"));
    std::memcpy(p.data.data() + i * p.cols, x.row(rows[i]), sizeof(float) * p.cols);
  }
  return p;
}

}  // namespace ps::analysis
