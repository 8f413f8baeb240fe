// Alignment of code tokens to real tokenizers (hand-made tokenizer.json files loaded by ps_tokenizer) and
// pooling, against hand-computed expectations.
#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "data/align/align.h"
#include "data/syntax/labelled_tree.h"
#include "data/syntax/parse.h"
#include "models/tokenizer/tokenizer.h"
#include "models/util/error.h"

namespace ps::align {
namespace {

using nlohmann::json;

// GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100.. in byte order.
std::string byte_char(int b) {
  auto printable = [](int c) { return (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF); };
  uint32_t cp = b;
  if (!printable(b)) {
    int n = 0;
    for (int c = 0; c < b; ++c)
      if (!printable(c)) ++n;
    cp = 256 + n;
  }
  std::string s;
  if (cp < 0x80) {
    s += char(cp);
  } else {
    s += char(0xC0 | (cp >> 6));
    s += char(0x80 | (cp & 0x3F));
  }
  return s;
}

// Byte-level BPE (RoBERTa layout): 256 byte symbols, a few merges, <s>/</s> added by RobertaProcessing.
tok::Tokenizer byte_level_bpe(bool trim_offsets) {
  json vocab = json::object();
  int id = 0;
  vocab["<s>"] = id++;
  vocab["</s>"] = id++;
  for (int b = 0; b < 256; ++b) vocab[byte_char(b)] = id++;
  std::vector<std::string> merges = {"Ġ =", "Ġ f", "o o", "( )", "Ġ b"};
  for (const auto& m : merges) vocab[m.substr(0, m.find(' ')) + m.substr(m.find(' ') + 1)] = id++;
  json j = {
      {"version", "1.0"},
      {"added_tokens",
       json::array({{{"id", 0}, {"content", "<s>"}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                     {"normalized", false}, {"special", true}},
                    {{"id", 1}, {"content", "</s>"}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                     {"normalized", false}, {"special", true}}})},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
      {"post_processor",
       {{"type", "RobertaProcessing"}, {"sep", {"</s>", 1}}, {"cls", {"<s>", 0}}, {"trim_offsets", trim_offsets},
        {"add_prefix_space", false}}},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", ""},
        {"end_of_word_suffix", ""}, {"fuse_unk", false}, {"byte_fallback", false}, {"vocab", vocab},
        {"merges", merges}}}};
  return tok::Tokenizer::from_json(j.dump(), "test-bpe");
}

tok::Tokenizer wordpiece() {
  json vocab = json::object();
  int id = 0;
  for (const char* t : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "x", "=", "foo", "##bar", "(", ")", "z"}) vocab[t] = id++;
  json j = {{"version", "1.0"},
            {"added_tokens", json::array()},
            {"normalizer",
             {{"type", "BertNormalizer"}, {"clean_text", true}, {"handle_chinese_chars", true}, {"strip_accents", false},
              {"lowercase", false}}},
            {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
            {"post_processor", {{"type", "BertProcessing"}, {"sep", {"[SEP]", 3}}, {"cls", {"[CLS]", 2}}}},
            {"decoder", nullptr},
            {"model",
             {{"type", "WordPiece"}, {"unk_token", "[UNK]"}, {"continuing_subword_prefix", "##"},
              {"max_input_chars_per_word", 100}, {"vocab", vocab}}}};
  return tok::Tokenizer::from_json(j.dump(), "test-wordpiece");
}

std::vector<std::vector<int64_t>> lists(const Alignment& a) {
  std::vector<std::vector<int64_t>> out;
  for (int64_t w = 0; w < a.n_words(); ++w)
    out.emplace_back(a.word_subwords.begin() + a.word_offsets[w], a.word_subwords.begin() + a.word_offsets[w + 1]);
  return out;
}

using L = std::vector<std::vector<int64_t>>;

// s = foo()+"a  b"   (bytes 0..15); words as a Python tokenizer gives them.
const std::string kCode = "s = foo()+\"a  b\"";
const std::vector<Span> kWords = {{0, 1}, {2, 3}, {4, 7}, {7, 8}, {8, 9}, {9, 10}, {10, 16}};

TEST(AlignOffsets, ByteLevelBpeHandComputed) {
  for (bool trim : {true, false}) {
    auto tk = byte_level_bpe(trim);
    Alignment a = align_offsets(tk, kCode, kWords);
    // <s> s Ġ= Ġf oo () + " a Ġ Ġb " </s>
    std::vector<std::string> expect_tokens = {"<s>", "s", "Ġ=", "Ġf", "oo", "()", "+", "\"", "a", "Ġ", "Ġb", "\"", "</s>"};
    ASSERT_EQ(a.encoding.tokens, expect_tokens) << "trim_offsets=" << trim;
    // foo has two subwords; "(" and ")" share the merged "()"; the string literal skips the whitespace-only "Ġ".
    EXPECT_EQ(lists(a), (L{{1}, {2}, {3, 4}, {5}, {5}, {6}, {7, 8, 10, 11}})) << "trim_offsets=" << trim;
    EXPECT_EQ(a.n_fallback, 0);
    EXPECT_EQ(a.word_offsets.size(), kWords.size() + 1);
  }
}

TEST(AlignJoined, RetokenizesWordsJoinedBySpaces) {
  auto tk = byte_level_bpe(true);
  Alignment a = align(tk, kCode, kWords, Mode::Joined);
  EXPECT_EQ(a.text, "s = foo ( ) + \"a  b\"");
  // The GPT-2 regex makes " (" one pre-token and there is no "Ġ (" merge: "Ġ" "(" (the "Ġ" aligns to nothing).
  std::vector<std::string> expect = {"<s>", "s", "Ġ=", "Ġf", "oo", "Ġ", "(", "Ġ", ")", "Ġ",
                                     "+",   "Ġ", "\"", "a",  "Ġ",  "Ġb", "\"", "</s>"};
  ASSERT_EQ(a.encoding.tokens, expect);
  EXPECT_EQ(lists(a), (L{{1}, {2}, {3, 4}, {6}, {8}, {10}, {12, 13, 15, 16}}));
  EXPECT_EQ(a.word_spans[2], (Span{4, 7}));
  EXPECT_EQ(a.word_spans[6], (Span{14, 20}));
  EXPECT_EQ(a.n_fallback, 0);
}

TEST(AlignOffsets, WordPieceWithUnknownAndSpecials) {
  auto tk = wordpiece();
  const std::string code = "x = foobar(y)";
  std::vector<Span> words = {{0, 1}, {2, 3}, {4, 10}, {10, 11}, {11, 12}, {12, 13}};
  Alignment a = align_offsets(tk, code, words);
  std::vector<std::string> expect_tokens = {"[CLS]", "x", "=", "foo", "##bar", "(", "[UNK]", ")", "[SEP]"};
  ASSERT_EQ(a.encoding.tokens, expect_tokens);
  EXPECT_EQ(lists(a), (L{{1}, {2}, {3, 4}, {5}, {6}, {7}}));
  // Without special tokens the indices shift down by one.
  Alignment b = align_offsets(tk, code, words, /*add_special_tokens=*/false);
  EXPECT_EQ(lists(b), (L{{0}, {1}, {2, 3}, {4}, {5}, {6}}));
}

TEST(AlignOffsets, WordTheTokenizerDropsFallsBackToTheNextSubword) {
  // BertNormalizer(clean_text) deletes control characters: the word "\x01" has no subword.
  auto tk = wordpiece();
  const std::string code = "x \x01 z";
  Alignment a = align_offsets(tk, code, {{0, 1}, {2, 3}, {4, 5}});
  ASSERT_EQ(a.encoding.tokens, (std::vector<std::string>{"[CLS]", "x", "z", "[SEP]"}));
  EXPECT_EQ(lists(a), (L{{1}, {2}, {2}}));
  EXPECT_EQ(a.n_fallback, 1);
  EXPECT_EQ(a.fallback, (std::vector<uint8_t>{0, 1, 0}));
}

TEST(AlignSpans, FallbackToPrecedingAtTheEndAndNoContentAtAll) {
  tok::Encoding e;
  e.ids = {10, 11};
  e.tokens = {"ab", "cd"};
  e.offsets = {{0, 2}, {3, 5}};
  e.special_mask = {0, 0};
  Alignment a = align_spans("ab cd ef", {{0, 2}, {6, 8}}, e);
  EXPECT_EQ(lists(a), (L{{0}, {1}}));
  EXPECT_EQ(a.n_fallback, 1);
  // Only specials / whitespace: nothing to fall back to, the word's list is empty and it pools to zeros.
  tok::Encoding s;
  s.ids = {1, 2, 3};
  s.tokens = {"<s>", " ", "</s>"};
  s.offsets = {{0, 0}, {0, 1}, {0, 0}};
  s.special_mask = {1, 0, 1};
  Alignment b = align_spans(" x", {{1, 2}}, s);
  EXPECT_EQ(lists(b), (L{{}}));
  EXPECT_EQ(b.n_fallback, 1);
  std::vector<float> x = {1, 1, 2, 2, 3, 3};
  EXPECT_EQ(pool(b, x, 2), (std::vector<float>{0, 0}));
}

TEST(AlignSpans, RejectsSpansOutsideTheText) {
  tok::Encoding e;
  EXPECT_THROW(align_spans("abc", {{2, 4}}, e), InputError);
  EXPECT_THROW(align_spans("abc", {{2, 1}}, e), InputError);
}

TEST(Pool, MeanFirstLastAgainstHandComputed) {
  auto tk = byte_level_bpe(true);
  Alignment a = align_offsets(tk, kCode, kWords);
  const int64_t n = a.n_subwords(), d = 2;
  std::vector<float> x(n * d);
  for (int64_t i = 0; i < n; ++i) {
    x[i * d] = float(i);
    x[i * d + 1] = float(10 * i);
  }
  // Word lists: {1}, {2}, {3,4}, {5}, {5}, {6}, {7,8,10,11}.
  EXPECT_EQ(pool(a, x, d, Pool::Mean),
            (std::vector<float>{1, 10, 2, 20, 3.5f, 35, 5, 50, 5, 50, 6, 60, 9, 90}));
  EXPECT_EQ(pool(a, x, d, Pool::First), (std::vector<float>{1, 10, 2, 20, 3, 30, 5, 50, 5, 50, 6, 60, 7, 70}));
  EXPECT_EQ(pool(a, x, d, Pool::Last), (std::vector<float>{1, 10, 2, 20, 4, 40, 5, 50, 5, 50, 6, 60, 11, 110}));
  std::vector<float> short_x(static_cast<size_t>((n - 1) * d));
  EXPECT_THROW(pool(a, short_x, d), InputError);
  EXPECT_THROW(pool(a, x, 3), InputError);
}

TEST(AlignOffsets, TreeSitterCodeTokensOfARealSnippet) {
  // Comments are blanked before parsing, so code-token offsets index the original text the model reads.
  const std::string code = "def foo(a):  # why\n    return a+1\n";
  auto r = syntax::try_parse(code, syntax::Language::Python);
  ASSERT_TRUE(r.ok()) << r.message;
  std::vector<Span> spans;
  std::vector<std::string> texts;
  for (const auto& t : syntax::code_tokens(r.tree, r.code)) {
    spans.emplace_back(t.start_byte, t.end_byte);
    texts.push_back(code.substr(t.start_byte, t.end_byte - t.start_byte));
  }
  ASSERT_EQ(texts, (std::vector<std::string>{"def", "foo", "(", "a", ")", ":", "return", "a", "+", "1"}));
  auto tk = byte_level_bpe(true);
  Alignment a = align_offsets(tk, code, spans);
  EXPECT_EQ(a.n_fallback, 0);
  // Every word's subwords decode (as bytes of the text under their spans) to exactly the word.
  for (int64_t w = 0; w < a.n_words(); ++w) {
    std::string joined;
    for (int64_t k = a.word_offsets[w]; k < a.word_offsets[w + 1]; ++k) {
      auto [b, e] = a.encoding.offsets[a.word_subwords[k]];
      joined += code.substr(b, e - b);
    }
    EXPECT_EQ(joined.substr(joined.find_first_not_of(' ')), texts[w]) << "word " << w;
  }
  // The comment's subwords belong to no word.
  std::set<int64_t> used(a.word_subwords.begin(), a.word_subwords.end());
  for (int64_t i = 0; i < a.n_subwords(); ++i)
    if (a.encoding.offsets[i].first >= 12 && a.encoding.offsets[i].second <= 18) {
      EXPECT_FALSE(used.count(i)) << i;
    }
  Alignment j = align(tk, code, spans, Mode::Joined);
  EXPECT_EQ(j.text, "def foo ( a ) : return a + 1");
  EXPECT_EQ(j.n_fallback, 0);
  EXPECT_EQ(j.n_words(), 10);
}

TEST(Names, ParseAndReject) {
  EXPECT_EQ(mode_from_name("joined"), Mode::Joined);
  EXPECT_EQ(pool_from_name("last"), Pool::Last);
  EXPECT_THROW(mode_from_name("chars"), InputError);
  EXPECT_THROW(pool_from_name("max"), InputError);
}

}  // namespace
}  // namespace ps::align
