#include "models/transformer/prepack.h"

#include <algorithm>
#include <map>
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

std::vector<PackedRow> best_fit_decreasing(const std::vector<int64_t>& lengths, int64_t capacity) {
  std::vector<int> order(lengths.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return lengths[a] > lengths[b]; });

  std::vector<PackedRow> bins;
  // free space -> bin indices with that much room; best fit = smallest free space that still fits.
  std::multimap<int64_t, int> by_free;
  for (int s : order) {
    const int64_t len = lengths[s];
    if (len > capacity)
      throw InputError("prepacking: sequence " + std::to_string(s) + " has " + std::to_string(len) +
                       " tokens, more than the bin capacity " + std::to_string(capacity));
    auto it = by_free.lower_bound(len);
    int bin;
    if (it == by_free.end()) {
      bin = static_cast<int>(bins.size());
      bins.emplace_back();
    } else {
      bin = it->second;
      by_free.erase(it);
    }
    PackedRow& row = bins[bin];
    row.seqs.push_back(s);
    row.starts.push_back(row.used);
    row.used += len;
    if (capacity - row.used > 0) by_free.emplace(capacity - row.used, bin);
  }
  return bins;
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

std::vector<PlannedBatch> plan_batches(const std::vector<int64_t>& lengths, Packing packing,
                                       int64_t token_budget, int64_t pack_capacity) {
  if (token_budget <= 0) throw InputError("--token-budget must be positive");
  for (size_t i = 0; i < lengths.size(); ++i)
    if (lengths[i] <= 0) throw InputError("batch planning: sequence " + std::to_string(i) + " is empty");
  if (lengths.empty()) return {};

  std::vector<PackedRow> rows;
  std::vector<int64_t> row_lens;
  if (packing == Packing::Prepacked) {
    const int64_t longest = *std::max_element(lengths.begin(), lengths.end());
    rows = best_fit_decreasing(lengths, std::max(longest, pack_capacity));
    // Fullest rows first keeps each batch's padding (to its longest row) small.
    std::stable_sort(rows.begin(), rows.end(), [](const PackedRow& a, const PackedRow& b) { return a.used > b.used; });
  } else {
    std::vector<int> order(lengths.size());
    std::iota(order.begin(), order.end(), 0);
    if (packing == Packing::SortedPadded)
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return lengths[a] > lengths[b]; });
    for (int s : order) rows.push_back(PackedRow{{s}, {0}, lengths[s]});
  }
  for (const auto& r : rows) row_lens.push_back(r.used);
  return group_rows(std::move(rows), row_lens, token_budget);
}

}  // namespace ps::models
