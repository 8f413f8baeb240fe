// BPE training: a planted tie-break case, determinism, and the real Hugging Face tokenizers library as
// the reference (its BpeTrainer on the same text must give the same vocabulary and merges; a tokenizer.json
// we train must encode held-out code to the same ids/offsets in both libraries and decode round-trips).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/tokenizer/tokenizer.h"
#include "models/train/bpe_trainer.h"
#include "tests/models/train/train_fixtures.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ps::train::BpeOptions;
using ps::train::train_bpe;

TEST(BpeTrainer, PlantedMergesAndTieBreak) {
  // Words "ab" and "Ġcd" (byte-level space): every pair occurs once, so ties go to the smaller ids:
  // alphabet a<b<c<d<Ġ, so (a,b) then (c,d), then (Ġ,cd).
  BpeOptions o;
  o.vocab_size = 100;
  o.special_tokens = {};
  o.byte_alphabet = false;
  const auto m = train_bpe({"ab cd"}, o);
  ASSERT_EQ(m.vocab.size(), 8u);
  EXPECT_EQ(m.vocab[0], "a");
  EXPECT_EQ(m.vocab[4], "\xC4\xA0");  // Ġ
  ASSERT_EQ(m.merges.size(), 3u);
  EXPECT_EQ(m.merges[0], std::make_pair(std::string("a"), std::string("b")));
  EXPECT_EQ(m.merges[1], std::make_pair(std::string("c"), std::string("d")));
  EXPECT_EQ(m.merges[2], std::make_pair(std::string("\xC4\xA0"), std::string("cd")));
  // Frequency wins over ids: "cd" three times is merged before "ab".
  const auto f = train_bpe({"ab cd cd cd"}, o);
  EXPECT_EQ(f.merges[0], std::make_pair(std::string("c"), std::string("d")));
}

TEST(BpeTrainer, SpecialTokensFirstAndByteAlphabet) {
  BpeOptions o;
  o.vocab_size = 300;
  const auto m = train_bpe({"def f(x):\n    return x\n"}, o);
  EXPECT_EQ(m.vocab[0], "<|endoftext|>");
  EXPECT_LT(m.vocab.size(), 300u);  // 1 special + 256 bytes + merges until every word is one token
  const auto tok = ps::tok::Tokenizer::from_json(ps::train::tokenizer_json(m), "trained");
  // def| f|(|x|):|\n   | return| x|\n : every pre-tokenized word of the training text became one token.
  EXPECT_EQ(tok.encode("def f(x):\n    return x\n", false).ids.size(), 9u);
  const std::string text = "naïve → 😀 \x01 <|endoftext|>";  // unseen chars still encode (byte alphabet)
  const auto e = tok.encode(text, false);
  EXPECT_EQ(tok.decode(e.ids, false), text);
  EXPECT_EQ(e.ids.back(), 0);
}

TEST(BpeTrainer, Deterministic) {
  const auto docs = pstest::source_documents({"models/util", "models/config"});
  BpeOptions o;
  o.vocab_size = 700;
  const std::string a = ps::train::tokenizer_json(train_bpe(docs, o));
  auto shuffled = docs;
  std::reverse(shuffled.begin(), shuffled.end());
  EXPECT_EQ(a, ps::train::tokenizer_json(train_bpe(docs, o)));
  EXPECT_EQ(a, ps::train::tokenizer_json(train_bpe(shuffled, o)));  // word counts do not depend on order
}

TEST(BpeTrainer, SameVocabularyAndMergesAsHuggingFaceTrainer) {
  const std::string why = pstest::node_skip_reason();
  if (!why.empty()) GTEST_SKIP() << why;
  // HF's tokenizer.train(files) pre-tokenizes each line (with its newline), so we train on the same lines.
  std::string text;
  for (const auto& d : pstest::source_documents({"models/util", "models/safetensors"})) text += d;
  const std::string dir = pstest::temp_dir("bpe_hf_train");
  std::ofstream(dir + "/corpus.txt", std::ios::binary) << text;
  ASSERT_EQ(pstest::run_node("train '" + dir + "/corpus.txt' '" + dir + "/hf.json'"), 0);
  std::vector<std::string> lines;
  for (size_t i = 0; i < text.size();) {
    const size_t nl = text.find('\n', i);
    const size_t end = nl == std::string::npos ? text.size() : nl + 1;
    lines.push_back(text.substr(i, end - i));
    i = end;
  }
  BpeOptions o;  // HF BpeTrainer::default(): 30000, no special tokens, no initial alphabet
  o.vocab_size = 30000;
  o.special_tokens = {};
  o.byte_alphabet = false;
  const auto ours = train_bpe(lines, o);
  const json hf = json::parse(std::ifstream(dir + "/hf.json"));
  const auto& vocab = hf.at("model").at("vocab");
  ASSERT_EQ(vocab.size(), ours.vocab.size());
  for (size_t i = 0; i < ours.vocab.size(); ++i)
    ASSERT_EQ(vocab.at(ours.vocab[i]).get<size_t>(), i) << "token " << ours.vocab[i];
  const auto& merges = hf.at("model").at("merges");
  ASSERT_EQ(merges.size(), ours.merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    ASSERT_EQ(merges[i][0].get<std::string>(), ours.merges[i].first) << "merge " << i;
    ASSERT_EQ(merges[i][1].get<std::string>(), ours.merges[i].second) << "merge " << i;
  }
  EXPECT_GT(merges.size(), 1000u);
}

TEST(BpeTrainer, TrainedTokenizerEncodesLikeHuggingFace) {
  const std::string why = pstest::node_skip_reason();
  if (!why.empty()) GTEST_SKIP() << why;
  BpeOptions o;
  o.vocab_size = 1200;
  const auto m = train_bpe(pstest::source_documents({"models/tokenizer", "models/transformer"}), o);
  const std::string dir = pstest::temp_dir("bpe_hf_encode");
  const std::string tj = ps::train::tokenizer_json(m);
  std::ofstream(dir + "/tokenizer.json", std::ios::binary) << tj;
  // Held out: code the tokenizer never saw, plus edge cases (unicode, whitespace runs, the special token).
  auto texts = pstest::source_documents({"models/safetensors", "data/corpus"});
  for (const char* s : {"", " ", "\n\n\n", "x<|endoftext|>y <|endoftext|>", "def f(a, b):\n\treturn a ** b  # ok\n",
                        "    \n    \t  x", "ünïcödé ∑ 😀 中文", "\r\n\r\n", "a  b   c    d"})
    texts.push_back(s);
  std::ofstream(dir + "/texts.json", std::ios::binary) << json(texts).dump();
  ASSERT_EQ(pstest::run_node("encode '" + dir + "/tokenizer.json' '" + dir + "/texts.json' '" + dir + "/out.json'"), 0);
  const json ref = json::parse(std::ifstream(dir + "/out.json"));
  const auto tok = ps::tok::Tokenizer::from_json(tj, "trained");
  ASSERT_EQ(ref.size(), texts.size());
  size_t tokens = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto e = tok.encode(texts[i], false);
    ASSERT_EQ(e.ids, ref[i].at("ids").get<std::vector<int32_t>>()) << "text " << i;
    EXPECT_EQ(ps::tok::utf8_char_offsets(texts[i], e.offsets),
              (ref[i].at("offsets").get<std::vector<std::pair<int64_t, int64_t>>>())) << "text " << i;
    EXPECT_EQ(tok.decode(e.ids, false), texts[i]);
    EXPECT_EQ(ref[i].at("decoded").get<std::string>(), texts[i]);
    tokens += e.ids.size();
  }
  EXPECT_GT(tokens, 20000u);
}

}  // namespace
