// The plain-C++ mask rule against the LibTorch builders the model runs with, plus planted pictures.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "analysis/plot/masks.h"
#include "models/transformer/masks.h"
#include "models/util/error.h"

namespace {

using ps::plot::MaskMode;

std::vector<uint8_t> torch_mask(const std::vector<int64_t>& seg, const MaskMode& m) {
  const auto t = at::tensor(seg, at::kLong).view({1, int64_t(seg.size())});
  at::Tensor mask;
  switch (m.kind) {
    case MaskMode::causal: mask = ps::models::segment_mask(t, true); break;
    case MaskMode::bidirectional: mask = ps::models::segment_mask(t, false); break;
    case MaskMode::lm_infinite: mask = ps::models::lm_infinite_mask(t, m.n_global, m.local); break;
    case MaskMode::sliding_window: mask = ps::models::sliding_window_mask(t, m.window, m.causal_window); break;
  }
  mask = mask[0].to(at::kByte).contiguous();
  return std::vector<uint8_t>(mask.data_ptr<uint8_t>(), mask.data_ptr<uint8_t>() + mask.numel());
}

TEST(Masks, RuleEqualsLibTorchForEveryModeAndLayout) {
  const std::vector<std::string> modes = {"causal",          "bidirectional",        "lm-infinite:0:1",
                                          "lm-infinite:2:3", "lm-infinite:4:8",      "lm-infinite:40:2",
                                          "window:1",        "window:3",             "window:5:bidirectional",
                                          "window:64"};
  // Single sequences, padded rows, prepacked rows, and interleaved (non-contiguous) segment ids.
  std::vector<std::vector<int64_t>> layouts = {std::vector<int64_t>(23, 0),
                                               {0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1},
                                               {0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, -1, -1},
                                               {3, 1, 3, 3, 1, -1, 1, 3, 7, 7, 1, 3, 3, 7, -1}};
  int checked = 0;
  for (const auto& text : modes) {
    const MaskMode m = ps::plot::parse_mask_mode(text);
    for (const auto& seg : layouts) {
      const auto mine = ps::plot::mask_matrix(seg, m);
      EXPECT_EQ(mine, torch_mask(seg, m)) << text << " on a row of " << seg.size();
      checked += int(std::count(mine.begin(), mine.end(), 1));
    }
  }
  EXPECT_GT(checked, 500);  // the comparison is not vacuous
}

TEST(Masks, PackedModeBuildsTheSegmentsOfTheEngine) {
  const MaskMode m = ps::plot::parse_mask_mode("packed:3,2,4");
  EXPECT_EQ(ps::plot::segment_ids(m, 11), (std::vector<int64_t>{0, 0, 0, 1, 1, 2, 2, 2, 2, -1, -1}));
  const auto p = ps::plot::mask_panel(m, 0);  // n = 9 from the lengths
  EXPECT_EQ(p.n, 9);
  EXPECT_EQ(p.segment_starts, (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(ps::plot::mask_panel(m, 11).segment_starts, (std::vector<int64_t>{3, 5, 9}));  // padding starts at 9
  const auto ids = ps::plot::segment_ids(m, 9);
  EXPECT_EQ(p.allowed, torch_mask(ids, m));
  EXPECT_THROW(ps::plot::segment_ids(m, 8), ps::InputError);
  EXPECT_THROW(ps::plot::mask_panel(ps::plot::parse_mask_mode("causal"), 5000), ps::InputError);
  EXPECT_EQ(ps::plot::parse_mask_mode("packed:2,2:bidirectional").kind, MaskMode::bidirectional);
}

TEST(Masks, LmInfinitePictureIsTheLambdaShape) {
  // n = 6, n_global = 1, L_local = 2: column 0 always, plus the diagonal and one key back.
  const auto p = ps::plot::mask_panel(ps::plot::parse_mask_mode("lm-infinite:1:2"), 6);
  const std::vector<std::string> want = {"100000", "110000", "111000", "101100", "100110", "100011"};
  for (int i = 0; i < 6; ++i) {
    std::string row;
    for (int j = 0; j < 6; ++j) row += p.allowed[size_t(i * 6 + j)] ? '1' : '0';
    EXPECT_EQ(row, want[size_t(i)]) << "query " << i;
  }
  EXPECT_NE(p.title.find("G=1"), std::string::npos);
}

TEST(Masks, LmInfiniteCapIsDrawnOnTheFarGlobalKeysOnly) {
  // n = 7, G = 2, L = 3: keys 0 and 1 leave the local band at distance 3 and are then scored at the cap.
  const auto p = ps::plot::mask_panel(ps::plot::parse_mask_mode("lm-infinite:2:3"), 7);
  ASSERT_EQ(p.capped.size(), 49u);
  int capped = 0;
  for (int i = 0; i < 7; ++i)
    for (int j = 0; j < 7; ++j) {
      const bool want = j < 2 && i - j >= 3;
      EXPECT_EQ(p.capped[size_t(i * 7 + j)] != 0, want) << i << "," << j;
      if (want) EXPECT_TRUE(p.allowed[size_t(i * 7 + j)]);  // capped keys stay visible
      capped += want;
    }
  EXPECT_EQ(capped, 4 + 3);
  EXPECT_NE(p.title.find("amber: cap 3"), std::string::npos) << p.title;
  // A wider cap changes the distance, not which keys are capped; 'none' draws the Λ shape alone.
  EXPECT_EQ(ps::plot::mask_panel(ps::plot::parse_mask_mode("lm-infinite:2:3:5"), 7).capped, p.capped);
  const auto none = ps::plot::mask_panel(ps::plot::parse_mask_mode("lm-infinite:2:3:none"), 7);
  EXPECT_TRUE(none.capped.empty());
  EXPECT_EQ(none.allowed, p.allowed);
  // Within packed sequences distances restart: the second sequence's first key is capped from its own start.
  const auto packed = ps::plot::capped_matrix({0, 0, 0, 1, 1, 1, 1}, ps::plot::parse_mask_mode("lm-infinite:1:2"));
  std::vector<uint8_t> want(49, 0);
  want[2 * 7 + 0] = want[5 * 7 + 3] = want[6 * 7 + 3] = 1;
  EXPECT_EQ(packed, want);
}

TEST(Masks, BadModesAreOneLineInputErrors) {
  for (const char* bad : {"", "causal:1", "window", "window:0", "window:3:sideways", "lm-infinite:2", "lm-infinite:-1:4",
                          "lm-infinite:1:0", "lm-infinite:1:4:3", "lm-infinite:1:4:x", "packed:", "packed:3,,4",
                          "packed:0", "unknown"}) {
    try {
      ps::plot::parse_mask_mode(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const ps::InputError& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
      EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
