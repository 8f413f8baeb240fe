// Batch planning: best-fit decreasing is correct and deterministic; budgets bound every batch.
#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "models/transformer/prepack.h"
#include "models/util/error.h"

using namespace ps::models;

TEST(Prepack, BestFitDecreasingMatchesHandPackedExample) {
  // Capacity 10; sorted: 7(0) 6(3) 5(1) 4(4) 3(2) 2(5). BFD: [7,3] [6,4] [5,2].
  const std::vector<int64_t> lens = {7, 5, 3, 6, 4, 2};
  auto bins = best_fit_decreasing(lens, 10);
  ASSERT_EQ(bins.size(), 3u);
  EXPECT_EQ(bins[0].seqs, (std::vector<int>{0, 2}));
  EXPECT_EQ(bins[1].seqs, (std::vector<int>{3, 4}));
  EXPECT_EQ(bins[2].seqs, (std::vector<int>{1, 5}));
  EXPECT_EQ(bins[0].starts, (std::vector<int64_t>{0, 7}));
  EXPECT_EQ(bins[2].used, 7);
}

TEST(Prepack, BestFitPicksTheFullestBinThatFits) {
  // After 6 and 5 in separate bins (cap 8), a 2 must go to the 6-bin (free 2), not the 5-bin (free 3).
  auto bins = best_fit_decreasing({6, 5, 2}, 8);
  ASSERT_EQ(bins.size(), 2u);
  EXPECT_EQ(bins[0].seqs, (std::vector<int>{0, 2}));
  EXPECT_EQ(bins[1].seqs, (std::vector<int>{1}));
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
  EXPECT_LT(double(slots(Packing::Prepacked) - real) / real, 0.10);  // BFD leaves little slack
}

TEST(Prepack, DeterministicAndRejectsBadInput) {
  const std::vector<int64_t> lens = {5, 5, 5, 3, 3, 8};
  auto a = plan_batches(lens, Packing::Prepacked, 16), b = plan_batches(lens, Packing::Prepacked, 16);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t r = 0; r < a[i].rows.size(); ++r) EXPECT_EQ(a[i].rows[r].seqs, b[i].rows[r].seqs);
  EXPECT_THROW(plan_batches({3, 0}, Packing::Padded, 16), ps::InputError);
  EXPECT_THROW(plan_batches({3}, Packing::Padded, 0), ps::InputError);
  EXPECT_THROW(best_fit_decreasing({9}, 8), ps::InputError);
  EXPECT_THROW(packing_from_name("zip"), ps::InputError);
  EXPECT_TRUE(plan_batches({}, Packing::Prepacked, 16).empty());
}
