// Attention patterns from a real store file (written here with planted values) into heatmaps.
#include <gtest/gtest.h>

#include <filesystem>

#include "analysis/plot/attention.h"
#include "data/store/reader.h"
#include "data/store/writer.h"
#include "models/tokenizer/tokenizer.h"
#include "models/util/error.h"
#include "tests/common/scratch.h"

namespace {

using namespace ps::plot;
namespace st = ps::store;

// value(layer, snippet, head, q, k): distinct for every entry, so a mix-up of any index shows.
float planted(int layer, int64_t s, int64_t h, int64_t q, int64_t k) {
  return float(layer * 1000 + s * 100 + h * 10 + q) + float(k) / 10.0f;
}

std::string write_store(const std::string& name) {
  const std::string path = (ps::test::scratch_dir(name) / (name + ".h5")).string();
  st::SnippetBatch b;
  const int64_t lengths[] = {3, 2};
  const int heads = 2;
  for (int L : {2, 5}) {
    st::TableBlock t;
    t.columns["pattern"] = st::Block(st::DType::f32, 0);
    for (int64_t s = 0; s < 2; ++s) {
      const int64_t n = lengths[s];
      t.counts.push_back(heads * n * n);
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t q = 0; q < n; ++q)
          for (int64_t k = 0; k < n; ++k) {
            const float v = planted(L, s, h, q, k);
            t.columns["pattern"].append(&v, 1);
          }
    }
    b.tables[st::attn_table(L)] = std::move(t);
  }
  for (int64_t s = 0; s < 2; ++s) {
    st::Snippet sn;
    sn.id = "s" + std::to_string(s);
    for (int64_t t = 0; t < lengths[s]; ++t) {
      sn.input_ids.push_back(int32_t(4 + t));  // 4 = "hey", 5 = "Ġ", 6 = "<|x|>" in the tokenizer below
      sn.char_spans.push_back({t, t + 1});
    }
    b.snippets.push_back(std::move(sn));
  }
  st::WriterOptions o;
  o.mode = st::WriterOptions::Mode::overwrite;
  st::StoreWriter w(path, {{"model_path", "planted"}}, o);
  w.append(b);
  w.finish();
  return path;
}

TEST(Attention, LoadsTheSnippetsPatternPerHeadAndMean) {
  st::StoreReader r(write_store("attn"));
  EXPECT_EQ(attention_layers(r), (std::vector<int>{2, 5}));
  const AttentionPattern p = load_attention(r, 0, 5);
  EXPECT_EQ(p.heads, 2);
  EXPECT_EQ(p.n, 3);
  const Heatmap h1 = attention_heatmap(p, 1, {});
  EXPECT_EQ(h1.rows, 3);
  EXPECT_EQ(h1.values[size_t(2 * 3 + 1)], double(planted(5, 0, 1, 2, 1)));  // [q=2, k=1] of head 1
  const Heatmap mean = attention_heatmap(p, -1, {"a", "b", "c"});
  EXPECT_DOUBLE_EQ(mean.values[size_t(1 * 3 + 2)], (double(planted(5, 0, 0, 1, 2)) + planted(5, 0, 1, 1, 2)) / 2);
  EXPECT_EQ(mean.col_labels, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_NE(mean.title.find("mean of 2 heads"), std::string::npos);
  // Negative layers count from the last stored one; the second snippet has its own n.
  const AttentionPattern q = load_attention(r, 1, -2);
  EXPECT_EQ(q.layer, 2);
  EXPECT_EQ(q.n, 2);
  EXPECT_EQ(q.values.back(), planted(2, 1, 1, 1, 1));
}

TEST(Attention, ErrorsNameTheStoreAndWhatIsMissing) {
  st::StoreReader r(write_store("attn_err"));
  auto error_of = [&](const std::function<void()>& f) -> std::string {
    try {
      f();
    } catch (const ps::InputError& e) {
      return e.what();
    }
    return "<no error>";
  };
  EXPECT_NE(error_of([&] { load_attention(r, 0, 3); }).find("no attention for layer 3 (stored: 2,5)"), std::string::npos);
  EXPECT_NE(error_of([&] { load_attention(r, 2, 2); }).find("snippet 2 out of range (2 snippets)"), std::string::npos);
  EXPECT_NE(error_of([&] { load_attention(r, 0, -3); }).find("only 2 attention layers"), std::string::npos);
  const AttentionPattern p = load_attention(r, 0, 2);
  EXPECT_NE(error_of([&] { attention_heatmap(p, 2, {}); }).find("head 2 out of range (2 heads)"), std::string::npos);
  EXPECT_NE(error_of([&] { attention_heatmap(p, 0, {"a"}); }).find("1 labels for 3 tokens"), std::string::npos);
}

TEST(Attention, TokenLabelsDecodeAndShowWhitespace) {
  const auto tok = ps::tok::Tokenizer::from_json(
      R"({"version":"1.0","added_tokens":[{"id":6,"content":"<|x|>","special":true,"normalized":false}],
    "normalizer":null,"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"use_regex":true},
    "post_processor":null,"decoder":{"type":"ByteLevel"},
    "model":{"type":"BPE","vocab":{"h":0,"e":1,"y":2,"he":3,"hey":4,"Ġ":5},"merges":["h e","he y"]}})",
      "tiny");
  EXPECT_EQ(token_labels({4, 5, 6}, &tok), (std::vector<std::string>{"hey", "\u2423", "<|x|>"}));
  EXPECT_EQ(token_labels({4, 5}, nullptr), (std::vector<std::string>{"4", "5"}));
  EXPECT_EQ(readable_token("  return\n"), "return\u21b5");
  EXPECT_EQ(readable_token("\t"), "\u21e5");
  EXPECT_EQ(readable_token(""), "\u2205");
}

}  // namespace
