#pragma once
// A read-only view of N points × D dims stored row-major as float, and exact-duplicate removal.
// Plain C++ on purpose: callers (store readers, CLI, GUI) need no Eigen and no SIMD-flag agreement.
#include <cstdint>
#include <string>
#include <vector>

namespace ps::analysis {

struct PointsView {
  const float* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t stride = 0;             // floats between row starts; 0 means cols (dense)
  std::string name = "<points>";  // used in error messages, e.g. "acts.h5:/acts/blocks.3.hook_resid_post"

  PointsView() = default;
  PointsView(const float* d, int64_t n, int64_t dim, std::string label = "<points>", int64_t row_stride = 0)
      : data(d), rows(n), cols(dim), stride(row_stride), name(std::move(label)) {}
  int64_t row_stride() const { return stride == 0 ? cols : stride; }
  const float* row(int64_t i) const { return data + i * row_stride(); }
};

// Throws InputError ("name: problem") for a null/empty view, a stride < cols, or non-finite values.
void validate_points(const PointsView& x);

// An owned dense copy (used for deduplicated and resampled point sets).
struct OwnedPoints {
  std::vector<float> data;
  int64_t rows = 0;
  int64_t cols = 0;
  std::string name;
  PointsView view() const { return PointsView(data.data(), rows, cols, name); }
};

struct Deduplicated {
  OwnedPoints points;             // distinct rows, in first-occurrence order
  std::vector<int64_t> kept;      // kept[i] = row of x that points row i came from
  int64_t n_duplicates = 0;       // x.rows - points.rows
};

// Removes rows exactly equal (value-wise; -0 == +0) to an earlier row. O(N·D) via hashing.
Deduplicated remove_duplicates(const PointsView& x);

// Copies the given rows of x (repeats allowed) into a dense owned matrix.
OwnedPoints gather_rows(const PointsView& x, const std::vector<int64_t>& rows);

}  // namespace ps::analysis
