#pragma once
// Batch planning without LibTorch: which sequences share a forward, where each starts, how they group into
// batches under a token budget. Prepacked batches concatenate their sequences with no padding at all
// (the dense layers see [T, d]; each sequence attends over its own tokens only); padded batches put
// one sequence per row. Memory per batch is bounded by the budget, not by the corpus.
#include <cstdint>
#include <string>
#include <vector>

namespace ps::models {

enum class Packing {
  Prepacked,     // sequences back to back (longest first), no padding; positions restart per sequence
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
  std::vector<PackedRow> rows;  // Prepacked: one row, the batch's tokens concatenated
  int64_t row_len = 0;          // padded modes: every row is right-padded to this length
  bool concatenated = false;    // Prepacked: run as [T, d] with per-bucket attention, not as padded rows
  int64_t real_tokens() const;
  int64_t slots() const { return row_len * static_cast<int64_t>(rows.size()); }
};

// Plans all sequences into batches within token_budget: padded modes bound rows × row_len, Prepacked bounds
// the concatenated tokens (a batch always holds at least one sequence, even one longer than the budget).
// Prepacked orders sequences longest first (similar lengths share a forward, which balances attention).
std::vector<PlannedBatch> plan_batches(const std::vector<int64_t>& lengths, Packing packing, int64_t token_budget);

}  // namespace ps::models
