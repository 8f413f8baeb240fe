// Hand-checked behaviour and error handling that needs no external reference.
#include <gtest/gtest.h>

#include <string>

#include "models/tokenizer/tokenizer.h"
#include "models/util/error.h"
#include "tests/models/tokenizer/tokenizer_test_util.h"

namespace {

using ps::tok::Tokenizer;

// A byte-level BPE over a 6-token vocab; merges "h e" then "he y".
std::string tiny_bpe(const std::string& merges = R"(["h e", ["he", "y"]])") {
  return R"({"version":"1.0","added_tokens":[{"id":6,"content":"<|x|>","special":true,"normalized":false}],
    "normalizer":null,"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"use_regex":true},
    "post_processor":null,"decoder":{"type":"ByteLevel"},
    "model":{"type":"BPE","vocab":{"h":0,"e":1,"y":2,"he":3,"hey":4,"Ġ":5},"merges":)" + merges + "}}";
}

using ps::tok::testing::error_of;

TEST(Tokenizer, TinyBpeMergesByRankAndMapsOffsetsToBytes) {
  Tokenizer t = Tokenizer::from_json(tiny_bpe(), "tiny");
  auto e = t.encode("hey<|x|>he");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{4, 6, 3}));
  EXPECT_EQ(e.offsets, (std::vector<std::pair<int64_t, int64_t>>{{0, 3}, {3, 8}, {8, 10}}));
  EXPECT_EQ(t.decode(e.ids, false), "hey<|x|>he");
  EXPECT_EQ(t.decode(e.ids, true), "heyhe");
  EXPECT_EQ(t.vocab_size(), 7);
  EXPECT_EQ(t.token_to_id("<|x|>"), 6);
  EXPECT_EQ(t.id_to_token(3), "he");
  EXPECT_EQ(t.token_to_id("nope"), -1);
}

TEST(Tokenizer, CharOffsetsCountCodePoints) {
  std::string s = "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80z";  // a é 中 😀 z
  auto c = ps::tok::utf8_char_offsets(s, {{0, 1}, {1, 3}, {3, 6}, {6, 10}, {10, 11}, {0, 0}, {2, 3}});
  EXPECT_EQ(c, (std::vector<std::pair<int64_t, int64_t>>{{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {0, 0}, {1, 2}}));
}

TEST(Tokenizer, UnigramViterbiPicksBestPathAndFusesUnknowns) {
  // The example from HF's Unigram::encode documentation.
  Tokenizer t = Tokenizer::from_json(R"({"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0.0],["a",0.0],["b",0.0],
    ["c",0.0],["d",0.0],["cd",1.0],["ab",2.0],["abc",5.0],["abcd",10.0]]}})", "uni");
  auto e = t.encode("abcdacdxx");
  EXPECT_EQ(e.tokens, (std::vector<std::string>{"abcd", "a", "cd", "xx"}));
  EXPECT_EQ(e.ids, (std::vector<int32_t>{8, 1, 5, 0}));
  EXPECT_EQ(e.offsets.back(), (std::pair<int64_t, int64_t>{7, 9}));
}

TEST(Tokenizer, BertNormalizerOffsetsPointIntoOriginalAccentedText) {
  Tokenizer t = Tokenizer::from_json(R"({"normalizer":{"type":"BertNormalizer","lowercase":true},
    "pre_tokenizer":{"type":"BertPreTokenizer"},
    "model":{"type":"WordPiece","unk_token":"[UNK]","vocab":{"[UNK]":0,"cafe":1,"!":2,"re":3,"##sume":4}}})", "wp");
  std::string text = "Caf\xC3\xA9! R\xC3\xA9sum\xC3\xA9 x";  // "Café! Résumé x"
  auto e = t.encode(text);
  EXPECT_EQ(e.ids, (std::vector<int32_t>{1, 2, 3, 4, 0}));
  EXPECT_EQ(e.offsets, (std::vector<std::pair<int64_t, int64_t>>{{0, 5}, {5, 6}, {7, 10}, {10, 15}, {16, 17}}));
}

TEST(Tokenizer, EncodeRejectsInvalidUtf8) {
  Tokenizer t = Tokenizer::from_json(tiny_bpe(), "tiny");
  EXPECT_THROW(t.encode("ok\xFF"), ps::InputError);
}

TEST(TokenizerErrors, NameFileAndField) {
  EXPECT_NE(error_of("{not json").find("tok.json: invalid JSON"), std::string::npos);
  EXPECT_EQ(error_of(R"({"normalizer":null})"), "tok.json: model: missing");
  EXPECT_EQ(error_of(R"({"model":{"type":"WordLevel","vocab":{}}})"), "tok.json: model.type: unsupported model type 'WordLevel'");
  EXPECT_EQ(error_of(R"({"normalizer":{"type":"NFKC"},"model":{"type":"BPE","vocab":{},"merges":[]}})"),
            "tok.json: normalizer.type: unsupported normalizer type 'NFKC'");
  EXPECT_EQ(error_of(R"({"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"UnicodeScripts"}]},
    "model":{"type":"BPE","vocab":{},"merges":[]}})"),
            "tok.json: pre_tokenizer.pretokenizers[0].type: unsupported pre_tokenizer type 'UnicodeScripts'");
  EXPECT_EQ(error_of(tiny_bpe(R"(["h e", "he z"])")), "tok.json: model.merges[1]: merge token 'z' is not in model.vocab");
  EXPECT_EQ(error_of(tiny_bpe(R"(["h y"])")), "tok.json: model.merges[0]: merged token 'hy' is not in model.vocab");
  EXPECT_EQ(error_of(tiny_bpe(R"(["h e y"])")), "tok.json: model.merges[0]: expected \"left right\" (one space), got \"h e y\"");
  EXPECT_EQ(error_of(R"({"model":{"type":"WordPiece","vocab":{"a":0}}})"), "tok.json: model.unk_token: '[UNK]' is not in model.vocab");
  EXPECT_EQ(error_of(R"({"model":{"type":"BPE","vocab":{"a":"x"},"merges":[]}})"), "tok.json: model.vocab.a: expected a non-negative integer id");
  EXPECT_EQ(error_of(R"({"model":{"type":"Unigram","unk_id":3,"vocab":[["a",0.0]]}})"), "tok.json: model.unk_id: out of range of model.vocab");
  EXPECT_EQ(error_of(R"({"model":{"type":"BPE","vocab":{},"merges":[],"dropout":0.1}})"),
            "tok.json: model.dropout: BPE dropout is random and not supported");
  EXPECT_EQ(error_of(R"({"truncation":{"max_length":5},"model":{"type":"BPE","vocab":{},"merges":[]}})"),
            "tok.json: truncation: truncation is not supported (set it to null)");
  EXPECT_EQ(error_of(R"({"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},
    {"Sequence":{"id":"A","type_id":0}}],"special_tokens":{}},"model":{"type":"BPE","vocab":{},"merges":[]}})"),
            "tok.json: post_processor.single[0]: special token '<s>' is not in special_tokens");
  EXPECT_NE(error_of(R"({"pre_tokenizer":{"type":"Split","pattern":{"Regex":"(unclosed"},"behavior":"Isolated"},
    "model":{"type":"BPE","vocab":{},"merges":[]}})").find("tok.json: pre_tokenizer.pattern.Regex: regex (unclosed does not compile"),
            std::string::npos);
  try {
    Tokenizer::from_file("/nonexistent/tokenizer.json");
    ADD_FAILURE() << "no error";
  } catch (const ps::InputError& e) {
    EXPECT_EQ(std::string(e.what()), "/nonexistent/tokenizer.json: cannot open tokenizer file");
  }
}

// Found by fuzzing: a number too large for a double is nlohmann's out_of_range, not a parse_error; it
// escaped from_json as a non-ps exception.
TEST(TokenizerErrors, NumberOverflowIsAnInputError) {
  EXPECT_EQ(error_of(R"({"model":{"type":"BPE","vocab":{"a":1e999},"merges":[]}})").rfind("tok.json: invalid JSON: ", 0), 0u);
}

}  // namespace
