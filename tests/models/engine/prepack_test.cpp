// Batch planning: concatenated and padded plans are correct and deterministic; budgets bound every batch.
#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "models/transformer/prepack.h"
#include "models/util/error.h"

using namespace ps::models;

TEST(Prepack, ConcatenatesLongestFirstWithinTheBudget) {
  // Budget 10 real tokens: sorted 7(0) 6(3) 5(1) 4(4) 3(2) 2(5) → [7] [6] [5,4] [3,2].
  const std::vector<int64_t> lens = {7, 5, 3, 6, 4, 2};
  auto batches = plan_batches(lens, Packing::Prepacked, 10);
  ASSERT_EQ(batches.size(), 4u);
  for (const auto& b : batches) {
    EXPECT_TRUE(b.concatenated);
    ASSERT_EQ(b.rows.size(), 1u);
    EXPECT_EQ(b.slots(), b.real_tokens());  // no padding at all
  }
  EXPECT_EQ(batches[2].rows[0].seqs, (std::vector<int>{1, 4}));
  EXPECT_EQ(batches[2].rows[0].starts, (std::vector<int64_t>{0, 5}));
  EXPECT_EQ(batches[3].rows[0].seqs, (std::vector<int>{2, 5}));
  // One sequence over the budget still gets a batch of its own.
  EXPECT_EQ(plan_batches({30, 2}, Packing::Prepacked, 10).size(), 2u);
}

TEST(Prepack, EverySequencePlacedOnceWithinBudgetAndNoOverlap) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int64_t> len(1, 300);
  std::vector<int64_t> lens(500);
  for (auto& l : lens) l = len(rng);
  for (Packing p : {Packing::Prepacked, Packing::Padded, Packing::SortedPadded}) {
    auto batches = plan_batches(lens, p, 2048);
    std::vector<int> seen(lens.size(), 0);
    int64_t real = 0;
    for (const auto& b : batches) {
      EXPECT_TRUE(b.slots() <= 2048 || b.rows.size() == 1) << packing_name(p);
      real += b.real_tokens();
      for (const auto& r : b.rows) {
        int64_t end = 0;
        EXPECT_LE(r.used, b.row_len);
        for (size_t k = 0; k < r.seqs.size(); ++k) {
          EXPECT_EQ(r.starts[k], end);  // contiguous, non-overlapping
          end += lens[r.seqs[k]];
          seen[r.seqs[k]]++;
        }
        EXPECT_EQ(end, r.used);
      }
    }
    EXPECT_EQ(real, std::accumulate(lens.begin(), lens.end(), int64_t{0}));
    for (int s : seen) EXPECT_EQ(s, 1);
  }
}

TEST(Prepack, PrepackingWastesLessThanPadding) {
  std::mt19937 rng(3);
  std::lognormal_distribution<double> d(std::log(100.0), 0.8);
  std::vector<int64_t> lens(400);
  for (auto& l : lens) l = std::clamp<int64_t>(static_cast<int64_t>(d(rng)), 8, 512);
  auto slots = [&](Packing p) {
    int64_t s = 0;
    for (const auto& b : plan_batches(lens, p, 4096)) s += b.slots();
    return s;
  };
  const int64_t real = std::accumulate(lens.begin(), lens.end(), int64_t{0});
  EXPECT_LT(slots(Packing::Prepacked), slots(Packing::SortedPadded));
  EXPECT_LT(slots(Packing::SortedPadded), slots(Packing::Padded));
  EXPECT_EQ(slots(Packing::Prepacked), real);  // concatenation pads nothing
}

TEST(Prepack, DeterministicAndRejectsBadInput) {
  const std::vector<int64_t> lens = {5, 5, 5, 3, 3, 8};
  auto a = plan_batches(lens, Packing::Prepacked, 16), b = plan_batches(lens, Packing::Prepacked, 16);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t r = 0; r < a[i].rows.size(); ++r) EXPECT_EQ(a[i].rows[r].seqs, b[i].rows[r].seqs);
  EXPECT_THROW(plan_batches({3, 0}, Packing::Padded, 16), ps::InputError);
  EXPECT_THROW(plan_batches({3}, Packing::Padded, 0), ps::InputError);
  EXPECT_THROW(packing_from_name("zip"), ps::InputError);
  EXPECT_TRUE(plan_batches({}, Packing::Prepacked, 16).empty());
}
