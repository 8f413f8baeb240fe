// Round trip of every dataset and dtype; commit visibility; batch validation.
#include <gtest/gtest.h>

#include <thread>

#include "data/store/half.h"
#include "models/util/error.h"
#include "tests/data/store/store_fixture.h"

namespace ps::store {
namespace {

using testing::act_value;
using testing::make_batch;

// Expected decoded value of stored activations, computed independently of the store.
float expect_f16(float v) { return half_to_float(float_to_half(v)); }
float expect_bf16(float v) { return bf16_to_float(float_to_bf16(v)); }

TEST(StoreRoundTrip, EveryDatasetAndDtype) {
  std::string path = testing::temp_dir("roundtrip") + "/s.h5";
  const int64_t n = 40;
  testing::write_store(path, n, 7);
  StoreReader r(path);
  EXPECT_EQ(r.num_samples(), n);
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.manifest().at(key::settings_hash), "settings-1");
  EXPECT_EQ(r.manifest().at(key::model_hash), "abc123");
  EXPECT_EQ(r.act_names(), (std::vector<std::string>{"tokens/layer_0", "tokens/layer_1", "words/layer_1"}));
  EXPECT_EQ(r.layers(Rows::tokens), (std::vector<int>{0, 1}));
  EXPECT_EQ(r.layers(Rows::words), (std::vector<int>{1}));
  EXPECT_EQ(r.act_info("tokens/layer_1").col.dtype, DType::f16);
  EXPECT_EQ(r.act_info("words/layer_1").col.dtype, DType::bf16);
  EXPECT_EQ(r.act_info("words/layer_1").col.width, 6);
  EXPECT_EQ(r.table_names(), (std::vector<std::string>{"attn/layer_1", "structural"}));
  ASSERT_TRUE(r.has_syntax());

  SnippetBatch ref = make_batch(0, n);
  int64_t tok_rows = 0, word_rows = 0;
  for (int64_t k = 0; k < n; ++k) {
    const Snippet& s = ref.snippets[size_t(k)];
    int64_t T = int64_t(s.input_ids.size()), W = int64_t(s.word_spans.size());
    EXPECT_EQ(r.id(k), s.id);
    TokenData t = r.tokens(k);
    EXPECT_EQ(t.input_ids, s.input_ids);
    EXPECT_EQ(t.char_spans, s.char_spans);
    WordData w = r.words(k);
    EXPECT_EQ(w.spans, s.word_spans);
    EXPECT_EQ(w.subwords, s.word_subwords);
    EXPECT_EQ(r.token_range(k).begin, tok_rows);
    EXPECT_EQ(r.word_range(k).begin, word_rows);
    SyntaxData sy = r.syntax(k);
    EXPECT_EQ(sy.d, s.syn_d);
    ASSERT_EQ(sy.c.size(), s.syn_c.size());
    for (size_t i = 0; i < sy.c.size(); ++i) EXPECT_EQ(r.c_vocab().at(size_t(sy.c[i])), s.syn_c[i]);
    ASSERT_EQ(sy.u.size(), s.syn_u.size());
    for (size_t i = 0; i < sy.u.size(); ++i) EXPECT_EQ(r.u_vocab().at(size_t(sy.u[i])), s.syn_u[i]);

    Matrix a0 = r.acts("tokens/layer_0", k), a1 = r.acts("tokens/layer_1", k), aw = r.acts("words/layer_1", k);
    ASSERT_EQ(a0.rows, T);
    ASSERT_EQ(a0.cols, 5);
    ASSERT_EQ(a1.cols, 8);
    ASSERT_EQ(aw.rows, W);
    for (int64_t i = 0; i < T; ++i) {
      for (int64_t j = 0; j < 5; ++j) EXPECT_EQ(a0.row(i)[j], act_value(k, i, j, 0));
      for (int64_t j = 0; j < 8; ++j) EXPECT_EQ(a1.row(i)[j], expect_f16(act_value(k, i, j, 1)));
    }
    for (int64_t i = 0; i < W; ++i)
      for (int64_t j = 0; j < 6; ++j) EXPECT_EQ(aw.row(i)[j], expect_bf16(act_value(k, i, j, 2)));

    std::vector<int64_t> parent = r.table("structural", "parent", k).to_ints();
    std::vector<float> depth = r.table("structural", "depth", k).to_floats();
    ASSERT_EQ(int64_t(parent.size()), W);
    for (int64_t i = 0; i < W; ++i) {
      EXPECT_EQ(parent[size_t(i)], i == 0 ? -1 : (i - 1) / 2);
      EXPECT_EQ(depth[size_t(i)], float(i) * 0.5f);
    }
    std::vector<float> pat = r.table(attn_table(1), "pattern", k).to_floats();
    ASSERT_EQ(int64_t(pat.size()), testing::kHeads * T * T);
    for (int64_t i = 0; i < int64_t(pat.size()); ++i) EXPECT_EQ(pat[size_t(i)], act_value(k, i, 0, 3));
    tok_rows += T;
    word_rows += W;
  }
  EXPECT_EQ(r.num_tokens(), tok_rows);
  EXPECT_EQ(r.num_words(), word_rows);

  // Bulk loading equals the per-snippet reads, and row streaming matches too.
  Matrix all = r.load_layer_words(1);
  ASSERT_EQ(all.rows, word_rows);
  for (int64_t k = 0; k < n; ++k) {
    Matrix a = r.acts("words/layer_1", k);
    for (int64_t i = 0; i < a.rows * a.cols; ++i)
      ASSERT_EQ(all.data[size_t(r.word_range(k).begin * 6 + i)], a.data[size_t(i)]);
  }
  Matrix mid = r.acts_rows("tokens/layer_1", 3, 11);
  Matrix tok = r.load_layer_tokens(1);
  ASSERT_EQ(mid.rows, 8);
  for (int64_t i = 0; i < 8 * 8; ++i) EXPECT_EQ(mid.data[size_t(i)], tok.data[size_t(3 * 8 + i)]);

  EXPECT_THROW(r.acts("tokens/layer_9", 0), InputError);
  EXPECT_THROW(r.tokens(n), InputError);
  EXPECT_THROW(r.acts_rows("tokens/layer_1", 0, tok_rows + 1), InputError);
}

TEST(StoreRoundTrip, GzipStoresTheSameContent) {
  std::string dir = testing::temp_dir("gzip");
  WriterOptions gz;
  gz.gzip = 4;
  testing::write_store(dir + "/raw.h5", 30, 8);
  testing::write_store(dir + "/gz.h5", 30, 8, gz);
  EXPECT_TRUE(testing::dump(dir + "/raw.h5") == testing::dump(dir + "/gz.h5"));
}

TEST(StoreRoundTrip, UncommittedRowsAreInvisible) {
  std::string path = testing::temp_dir("uncommitted") + "/s.h5";
  {
    StoreWriter w(path, testing::base_manifest());
    w.append(make_batch(0, 10));
    w.commit();
    w.append(make_batch(10, 5));
    EXPECT_EQ(w.pending_samples(), 5);
    {
      StoreReader r(path);  // same process: HDF5 shares the open file, the counter still hides rows
      EXPECT_EQ(r.num_samples(), 10);
      EXPECT_EQ(r.num_tokens(), r.token_offsets().back());
      EXPECT_EQ(r.load_layer_words(1).rows, r.word_offsets()[10]);
      EXPECT_THROW(r.tokens(10), InputError);
      EXPECT_FALSE(r.complete());
    }
  }  // destroyed without commit: the 5 rows stay physically but uncommitted
  StoreReader r(path);
  EXPECT_EQ(r.num_samples(), 10);
  EXPECT_FALSE(r.complete());
  EXPECT_EQ(r.id(9), "snip-9");
  EXPECT_NE(testing::extents(path).find("samples/ids 15\n"), std::string::npos) << testing::extents(path);
}

TEST(StoreRoundTrip, ConcurrentReadsAreSafe) {
  std::string path = testing::temp_dir("threads") + "/s.h5";
  testing::write_store(path, 30, 10);
  StoreReader r(path);
  Matrix ref = r.load_layer_tokens(1);
  std::vector<std::thread> ts;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      bool good = true;
      for (int rep = 0; rep < 20; ++rep)
        for (int64_t k = t; k < 30; k += 4) {
          Matrix a = r.acts("tokens/layer_1", k);
          for (int64_t i = 0; i < a.rows * a.cols; ++i)
            good = good && a.data[size_t(i)] == ref.data[size_t(r.token_range(k).begin * 8 + i)];
        }
      ok[size_t(t)] = good;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok, std::vector<int>(4, 1));
}

TEST(StoreRoundTrip, RejectsInconsistentBatches) {
  std::string path = testing::temp_dir("validate") + "/s.h5";
  StoreWriter w(path, testing::base_manifest());
  SnippetBatch b = make_batch(0, 3);
  b.snippets[1].syn_u.pop_back();
  try {
    w.append(b);
    FAIL() << "accepted a wrong |u|";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("snippet 'snip-1'"), std::string::npos) << e.what();
  }
  b = make_batch(0, 3);
  b.acts.at("tokens/layer_1").data.bytes.resize(8 * 4);  // one row instead of Σ T
  EXPECT_THROW(w.append(b), InputError);
  w.append(make_batch(0, 3));  // validation failures did not poison the writer
  w.commit();
  b = make_batch(3, 2);
  b.acts.erase("words/layer_1");
  EXPECT_THROW(w.append(b), InputError);
  b = make_batch(3, 2);
  b.acts.at("words/layer_1").store = DType::f16;
  EXPECT_THROW(w.append(b), InputError);
  b = make_batch(3, 2);
  b.snippets[1].word_subwords[0].end = 99;  // snippet 3 (index 0) is the empty one
  EXPECT_THROW(w.append(b), InputError);
  w.finish();
  EXPECT_EQ(StoreReader(path).num_samples(), 3);

  Manifest bad = testing::base_manifest();
  bad["committed_samples"] = "7";
  EXPECT_THROW(StoreWriter(testing::temp_dir("validate2") + "/x.h5", bad), InputError);
  WriterOptions create;
  create.mode = WriterOptions::Mode::create;
  EXPECT_THROW(StoreWriter(path, testing::base_manifest(), create), InputError);
}

}  // namespace
}  // namespace ps::store
