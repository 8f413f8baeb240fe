// Mask builders against hand-written expected matrices.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "models/transformer/masks.h"

namespace ps::models {
namespace {

at::Tensor seg(std::vector<int64_t> v) { return at::tensor(v, at::kLong).unsqueeze(0); }
at::Tensor M(std::vector<std::vector<int>> rows) {
  auto t = at::zeros({1, int64_t(rows.size()), int64_t(rows.size())}, at::kBool);
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < rows[i].size(); ++j) t[0][i][j] = rows[i][j] != 0;
  return t;
}

TEST(Masks, SegmentCausalAndBidirectional) {
  const auto s = seg({0, 0, 1, 1, 1, -1});
  EXPECT_TRUE(at::equal(segment_mask(s, true), M({{1, 0, 0, 0, 0, 0},
                                                   {1, 1, 0, 0, 0, 0},
                                                   {0, 0, 1, 0, 0, 0},
                                                   {0, 0, 1, 1, 0, 0},
                                                   {0, 0, 1, 1, 1, 0},
                                                   {0, 0, 0, 0, 0, 0}})));
  EXPECT_TRUE(at::equal(segment_mask(s, false), M({{1, 1, 0, 0, 0, 0},
                                                    {1, 1, 0, 0, 0, 0},
                                                    {0, 0, 1, 1, 1, 0},
                                                    {0, 0, 1, 1, 1, 0},
                                                    {0, 0, 1, 1, 1, 0},
                                                    {0, 0, 0, 0, 0, 0}})));
  EXPECT_TRUE(at::equal(positions_from_segments(s), at::tensor({0, 1, 0, 1, 2, 0}, at::kLong).unsqueeze(0)));
}

TEST(Masks, LmInfiniteLambdaWithinSegments) {
  // Segment 0 has 5 tokens, n_global = 1, local = 2: row i sees key 0 and keys i-1, i.
  const auto s = seg({0, 0, 0, 0, 0, 3, 3, 3});
  const auto m = lm_infinite_mask(s, 1, 2);
  EXPECT_TRUE(at::equal(m, M({{1, 0, 0, 0, 0, 0, 0, 0},
                              {1, 1, 0, 0, 0, 0, 0, 0},
                              {1, 1, 1, 0, 0, 0, 0, 0},
                              {1, 0, 1, 1, 0, 0, 0, 0},
                              {1, 0, 0, 1, 1, 0, 0, 0},
                              {0, 0, 0, 0, 0, 1, 0, 0},
                              {0, 0, 0, 0, 0, 1, 1, 0},
                              {0, 0, 0, 0, 0, 1, 1, 1}})));
}

TEST(Masks, SlidingWindow) {
  const auto s = seg({0, 0, 0, 0});
  EXPECT_TRUE(at::equal(sliding_window_mask(s, 2, true), M({{1, 0, 0, 0}, {1, 1, 0, 0}, {0, 1, 1, 0}, {0, 0, 1, 1}})));
  EXPECT_TRUE(at::equal(sliding_window_mask(s, 2, false), M({{1, 1, 0, 0}, {1, 1, 1, 0}, {0, 1, 1, 1}, {0, 0, 1, 1}})));
}

TEST(Masks, FromLengths) {
  const auto s = segments_from_lengths({2, 4}, 4);
  EXPECT_TRUE(at::equal(s, at::tensor({0, 0, -1, -1, 0, 0, 0, 0}, at::kLong).view({2, 4})));
  const auto m = segment_mask(s, true);
  EXPECT_EQ(m.sizes(), (at::IntArrayRef{2, 4, 4}));
  EXPECT_EQ(m[0].sum().item<int64_t>(), 3);   // 1 + 2
  EXPECT_EQ(m[1].sum().item<int64_t>(), 10);  // 1 + 2 + 3 + 4
}

}  // namespace
}  // namespace ps::models
