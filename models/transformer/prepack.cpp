#include "models/transformer/prepack.h"

#include <algorithm>
#include <numeric>

#include "models/util/error.h"

namespace ps::models {

Packing packing_from_name(const std::string& name) {
  if (name == "prepacked" || name == "prepack") return Packing::Prepacked;
  if (name == "padded" || name == "none") return Packing::Padded;
  if (name == "sorted" || name == "sorted-padded") return Packing::SortedPadded;
  throw InputError("--packing: unknown mode '" + name + "' (expected prepacked, padded or sorted)");
}

const char* packing_name(Packing p) {
  switch (p) {
    case Packing::Prepacked: return "prepacked";
    case Packing::Padded: return "padded";
    case Packing::SortedPadded: return "sorted";
  }
  return "?";
}

int64_t PlannedBatch::real_tokens() const {
  int64_t n = 0;
  for (const auto& r : rows) n += r.used;
  return n;
}

namespace {

// Greedily groups rows (already in their final order) into batches within the budget.
std::vector<PlannedBatch> group_rows(std::vector<PackedRow> rows, const std::vector<int64_t>& row_lens,
                                     int64_t token_budget) {
  std::vector<PlannedBatch> batches;
  PlannedBatch cur;
  for (size_t i = 0; i < rows.size(); ++i) {
    const int64_t len = row_lens[i];
    const int64_t new_len = std::max(cur.row_len, len);
    if (!cur.rows.empty() && new_len * static_cast<int64_t>(cur.rows.size() + 1) > token_budget) {
      batches.push_back(std::move(cur));
      cur = PlannedBatch{};
    }
    cur.row_len = std::max(cur.row_len, len);
    cur.rows.push_back(std::move(rows[i]));
  }
  if (!cur.rows.empty()) batches.push_back(std::move(cur));
  return batches;
}

}  // namespace

namespace {

std::vector<int> longest_first(const std::vector<int64_t>& lengths) {
  std::vector<int> order(lengths.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return lengths[a] > lengths[b]; });
  return order;
}

// Consecutive sequences (longest first) concatenated until the budget is full.
std::vector<PlannedBatch> concatenated_batches(const std::vector<int64_t>& lengths, int64_t token_budget) {
  std::vector<PlannedBatch> batches;
  PlannedBatch cur;
  for (int s : longest_first(lengths)) {
    if (!cur.rows.empty() && cur.rows[0].used + lengths[s] > token_budget) {
      batches.push_back(std::move(cur));
      cur = PlannedBatch{};
    }
    if (cur.rows.empty()) cur.rows.emplace_back(), cur.concatenated = true;
    auto& row = cur.rows[0];
    row.seqs.push_back(s);
    row.starts.push_back(row.used);
    row.used += lengths[s];
    cur.row_len = row.used;
  }
  if (!cur.rows.empty()) batches.push_back(std::move(cur));
  return batches;
}

}  // namespace

std::vector<PlannedBatch> plan_batches(const std::vector<int64_t>& lengths, Packing packing, int64_t token_budget) {
  if (token_budget <= 0) throw InputError("--token-budget must be positive");
  for (size_t i = 0; i < lengths.size(); ++i)
    if (lengths[i] <= 0) throw InputError("batch planning: sequence " + std::to_string(i) + " is empty");
  if (lengths.empty()) return {};
  if (packing == Packing::Prepacked) return concatenated_batches(lengths, token_budget);

  std::vector<int> order(lengths.size());
  std::iota(order.begin(), order.end(), 0);
  if (packing == Packing::SortedPadded) order = longest_first(lengths);
  std::vector<PackedRow> rows;
  std::vector<int64_t> row_lens;
  for (int s : order) rows.push_back(PackedRow{{s}, {0}, lengths[s]}), row_lens.push_back(lengths[s]);
  return group_rows(std::move(rows), row_lens, token_budget);
}

}  // namespace ps::models
