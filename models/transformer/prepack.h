#pragma once
// Batch planning without LibTorch: which sequences share a row, where each starts, how rows group into
// batches under a token budget. Prepacking (Zhao et al. 2024) packs several sequences into one row with
// best-fit decreasing; padding puts one sequence per row. Memory per batch is bounded by the budget
// (rows × row length ≤ budget), not by the corpus.
#include <cstdint>
#include <string>
#include <vector>

namespace ps::models {

enum class Packing {
  Prepacked,     // best-fit-decreasing bins, block-diagonal mask, positions restart per sequence
  Padded,        // one sequence per row in input order, right-padded to the batch's longest
  SortedPadded,  // one sequence per row after sorting by length (the usual "bucketing" baseline)
};
Packing packing_from_name(const std::string& name);  // "prepacked"|"padded"|"sorted"; throws InputError
const char* packing_name(Packing p);

struct PackedRow {
  std::vector<int> seqs;       // indices into the planned sequence list
  std::vector<int64_t> starts; // start offset of each sequence inside the row
  int64_t used = 0;            // tokens occupied
};

struct PlannedBatch {
  std::vector<PackedRow> rows;
  int64_t row_len = 0;  // every row is right-padded to this length
  int64_t real_tokens() const;
  int64_t slots() const { return row_len * static_cast<int64_t>(rows.size()); }
};

// Best-fit decreasing into bins of `capacity` tokens (each sequence must fit: capacity ≥ longest).
// Ties are broken by input index so the plan is deterministic.
std::vector<PackedRow> best_fit_decreasing(const std::vector<int64_t>& lengths, int64_t capacity);

// Plans all sequences into batches whose slots (rows × row_len) stay within token_budget
// (a batch always holds at least one row, even if one sequence alone exceeds the budget).
// For Prepacked the bin capacity is max(longest sequence, pack_capacity).
std::vector<PlannedBatch> plan_batches(const std::vector<int64_t>& lengths, Packing packing,
                                       int64_t token_budget, int64_t pack_capacity = 0);

}  // namespace ps::models
