// Alignment as the store records it, through the shipped byte-level BPE model (data/models/codegpt-py-small)
// on parsed Python: shared-subword pairs (snippet_meta/shared_pairs, the summary), the exact pooled sets
// (tables/word_pool) that re-pool acts/tokens into acts/words bit for bit, and the mode in the manifest.
#include <gtest/gtest.h>

#include <numeric>

#include "data/extract/extract.h"
#include "models/util/error.h"
#include "data/store/reader.h"
#include "tests/data/extract/extract_fixture.h"

namespace ps::extract {
namespace {

using namespace ps::extract::testing;

const std::string kModel = PS_SOURCE_DIR "/data/models/codegpt-py-small";

struct Stored {
  ExtractSummary sum;
  int64_t shared = 0;         // Σ snippet_meta/shared_pairs
  int64_t cover_differs = 0;  // words whose pooled set is not their /words/subword_spans range
};

// Re-pools every word from acts/tokens with the stored word_pool rows, in the order pooling summed them, and
// requires the stored word vector exactly.
void extract_and_repool(const std::string& dir, const std::string& corpus, const std::string& align, Stored& s) {
  auto o = tiny_options(kModel, corpus, dir + "/" + align + ".h5");
  o.align = align;
  o.token_layers = "2";
  o.layers = "2";
  s.sum = extract(o);
  store::StoreReader r(o.out);
  EXPECT_EQ(r.manifest().at("align"), align);
  const int64_t d = r.act_info("words/layer_2").col.width;
  for (int64_t i = 0; i < r.num_samples(); ++i) {
    const auto words = r.acts("words/layer_2", i), tokens = r.acts("tokens/layer_2", i);
    const auto wcol = r.table("word_pool", "word", i).to_ints(), tcol = r.table("word_pool", "token", i).to_ints();
    const auto spans = r.words(i).subwords;
    s.shared += r.table("snippet_meta", "shared_pairs", i).to_ints().at(0);
    EXPECT_EQ(wcol.size(), tcol.size());
    size_t k = 0;
    for (int64_t w = 0; w < words.rows; ++w) {
      std::vector<float> sum(size_t(d), 0.f);
      std::vector<int64_t> mine;
      for (; k < wcol.size() && wcol[k] == w; ++k) mine.push_back(tcol[k]);
      ASSERT_FALSE(mine.empty()) << "snippet " << i << " word " << w;
      for (int64_t t : mine)
        for (int64_t j = 0; j < d; ++j) sum[size_t(j)] += tokens.row(t)[j];
      const float inv = 1.0f / float(mine.size());
      for (int64_t j = 0; j < d; ++j) ASSERT_EQ(sum[size_t(j)] * inv, words.row(w)[j]) << "snippet " << i << " word " << w;
      std::vector<int64_t> cover(size_t(spans[w].end - spans[w].begin));
      std::iota(cover.begin(), cover.end(), spans[w].begin);
      s.cover_differs += cover != mine;
    }
    EXPECT_EQ(k, wcol.size());
  }
}

TEST(AlignStore, BoundaryHasNoSharedPairsOffsetsHasThemAndBothRepoolExactly) {
  const std::string dir = temp_dir("align_store");
  const auto corpus = write_corpus(dir, 16);
  Stored b, o;
  extract_and_repool(dir, corpus, "boundary", b);
  extract_and_repool(dir, corpus, "offsets", o);
  if (HasFatalFailure()) return;
  EXPECT_EQ(b.shared, 0);
  EXPECT_EQ(b.sum.shared_pairs, 0);
  EXPECT_EQ(b.sum.align, "boundary");
  // "):" and "()" are single subwords of this vocabulary: the natural tokenization shares them.
  EXPECT_GT(o.shared, 0);
  EXPECT_EQ(o.sum.shared_pairs, o.shared);
  EXPECT_NE(o.sum.format().find("alignment offsets: " + std::to_string(o.shared) + " adjacent word pairs"),
            std::string::npos)
      << o.sum.format();
  // In offsets mode a shared subword breaks the contiguous cover's meaning; word_pool is exact either way.
  EXPECT_EQ(b.sum.words, o.sum.words);
}

TEST(AlignStore, AutoPicksBoundaryForByteLevelBpe) {
  const std::string dir = temp_dir("align_auto");
  auto o = tiny_options(kModel, write_corpus(dir, 3), dir + "/s.h5");
  const auto sum = extract(o);
  EXPECT_EQ(sum.align, "boundary");
  EXPECT_EQ(store::StoreReader(o.out).manifest().at("align"), "boundary");
  o.align = "nearest";
  o.out = dir + "/bad.h5";
  try {
    extract(o);
    FAIL() << "an unknown --align was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--align: unknown mode 'nearest'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ps::extract
