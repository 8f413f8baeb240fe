// Attention statistics on a store with planted heads whose answers are computed by hand.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "analysis/attention/attention_stats.h"
#include "data/store/writer.h"
#include "models/util/error.h"
#include "tests/common/scratch.h"

namespace ps::analysis {
namespace {

// root → A(w0,w1), B(w2,w3), C(w4,w5): siblings are (0,1), (2,3), (4,5).
const std::vector<int32_t> kParent = {-1, 0, 0, 0, 1, 1, 2, 2, 3, 3};
const std::vector<int32_t> kLeaf = {4, 5, 6, 7, 8, 9};

std::string planted_store() {
  const auto dir = ps::test::scratch_dir("attn");
  const std::string path = (dir / "attn.h5").string();
  store::WriterOptions wo;
  wo.mode = store::WriterOptions::Mode::overwrite;
  store::StoreWriter w(path, {{"model_label", "planted"}}, wo);
  store::SnippetBatch b;
  const int n = 6;
  for (int s = 0; s < 2; ++s) {  // two identical snippets: averages must not change
    store::Snippet sn;
    sn.id = "s" + std::to_string(s);
    for (int t = 0; t < n; ++t) {
      sn.input_ids.push_back(t);
      sn.char_spans.push_back({2 * t, 2 * t + 1});
      sn.word_spans.push_back({2 * t, 2 * t + 1});
      sn.word_subwords.push_back({t, t + 1});
    }
    b.snippets.push_back(sn);
    std::vector<float> pat(2 * n * n, 0.f);
    for (int q = 0; q < n; ++q) {
      pat[(0 * n + q) * n + (q ^ 1)] = 1.f;          // head 0: the sibling
      pat[(1 * n + q) * n + std::max(q - 1, 0)] = 1.f;  // head 1: the previous token (self at 0)
    }
    auto& t = b.tables["attn/layer_1"];
    t.columns.try_emplace("pattern", store::DType::f32, 0).first->second.append(pat.data(), int64_t(pat.size()));
    t.counts.push_back(int64_t(pat.size()));
    auto& nodes = b.tables["ast_nodes"];
    nodes.columns.try_emplace("parent", store::DType::i32, 0).first->second.append(kParent.data(), 10);
    nodes.counts.push_back(10);
    auto& st = b.tables["structural"];
    st.columns.try_emplace("leaf_node", store::DType::i32, 0).first->second.append(kLeaf.data(), 6);
    st.counts.push_back(6);
  }
  w.append(b);
  w.finish();
  return path;
}

TEST(AttentionStats, LeafDistancesByHand) {
  const auto d = leaf_distances({kParent.begin(), kParent.end()}, {kLeaf.begin(), kLeaf.end()});
  EXPECT_EQ(d[0 * 6 + 1], 2);
  EXPECT_EQ(d[0 * 6 + 2], 4);
  EXPECT_EQ(d[3 * 6 + 2], 2);
  EXPECT_EQ(d[5 * 6 + 0], 4);
  EXPECT_EQ(d[4 * 6 + 4], 0);
  EXPECT_THROW(leaf_distances({1, 0}, {0, 1}), InputError);  // a cycle
}

TEST(AttentionStats, PlantedHeadsGiveHandComputedValues) {
  const auto rows = attention_stats(planted_store(), {});
  ASSERT_EQ(rows.size(), 3u);  // heads 0, 1 and their mean
  const auto& sib = rows[0];
  const auto& prev = rows[1];
  // p(±1) = 3/5 (pairs (0,1),(2,3),(4,5) of the five adjacent pairs); p(0) = 0 (same word).
  EXPECT_NEAR(sib.ast_fraction, 1.0, 1e-9);
  EXPECT_NEAR(sib.baseline, 0.6, 1e-9);
  EXPECT_NEAR(sib.ratio, 1.0 / 0.6, 1e-9);
  EXPECT_NEAR(sib.mean_distance, 1.0, 1e-9);
  EXPECT_NEAR(prev.ast_fraction, 0.5, 1e-9);
  EXPECT_NEAR(prev.baseline, 0.5, 1e-9);
  EXPECT_NEAR(prev.ratio, 1.0, 1e-9);  // a purely positional head is not credited with syntax
  EXPECT_NEAR(prev.mean_distance, 5.0 / 6.0, 1e-9);
  EXPECT_NEAR(prev.entropy, 0.0, 1e-9);
  EXPECT_EQ(rows[2].head, -1);
  EXPECT_NEAR(rows[2].ast_fraction, 0.75, 1e-9);
  EXPECT_EQ(sib.queries, 12);
}

TEST(AttentionStats, StoreWithoutAttentionIsAOneLineError) {
  const auto dir = ps::test::scratch_dir("none");
  const std::string path = (dir / "none.h5").string();
  store::WriterOptions wo;
  wo.mode = store::WriterOptions::Mode::overwrite;
  store::StoreWriter w(path, {}, wo);
  w.finish();
  try {
    attention_stats(path, {});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no attention tables"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ps::analysis
