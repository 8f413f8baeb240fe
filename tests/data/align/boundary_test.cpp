// Boundary alignment through the shipped byte-level BPE tokenizer on real Python, and through hand-made
// Metaspace tokenizers (the prefix-space rules that make a continuation tokenizer necessary).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/align/align.h"
#include "data/align/boundary.h"
#include "data/syntax/labelled_tree.h"
#include "data/syntax/parse.h"
#include "models/tokenizer/tokenizer.h"
#include "models/util/error.h"

namespace ps::align {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const std::string kTokenizer = PS_SOURCE_DIR "/data/models/codegpt-py-small/tokenizer.json";

struct Real {
  std::string json = read_tokenizer_json(kTokenizer);
  tok::Tokenizer tk = tok::Tokenizer::from_json(json, kTokenizer);
  tok::Tokenizer cont = continuation_tokenizer(json, kTokenizer);
};
const Real& real() {
  static const Real r;
  return r;
}

std::vector<Span> code_words(const std::string& code, std::string* text) {
  auto r = syntax::try_parse(code, syntax::Language::Python);
  if (!r.ok()) return {};
  std::vector<Span> words;
  for (const auto& t : syntax::code_tokens(r.tree, r.code)) words.emplace_back(t.start_byte, t.end_byte);
  *text = r.code;
  return words;
}

// Every subword of word w lies inside w's piece [end of w-1, end of w), and its bytes are w's or whitespace.
void expect_own_subwords(const Alignment& a, const std::string& where) {
  for (int64_t w = 0; w < a.n_words(); ++w) {
    const int64_t lo = w ? a.word_spans[w - 1].second : 0, hi = a.word_spans[w].second;
    for (int64_t k = a.word_offsets[w]; k < a.word_offsets[w + 1]; ++k) {
      const auto [b, e] = a.encoding.offsets[a.word_subwords[k]];
      ASSERT_TRUE(b >= lo && e <= hi) << where << " word " << w << " subword " << a.word_subwords[k];
    }
  }
}

TEST(AlignBoundary, KeepsTheTextAndLeadingSpaceTokensOfTheRealTokenizer) {
  const std::string code = "def foo(a):  # why\n    return bar(a), x.y()\n";
  std::string text;
  const auto words = code_words(code, &text);
  ASSERT_FALSE(words.empty());
  const auto& r = real();
  const Alignment b = align_boundary(r.tk, r.cont, text, words);
  EXPECT_EQ(r.tk.decode(b.encoding.ids), text);  // the model reads the same text
  EXPECT_NE(std::find(b.encoding.tokens.begin(), b.encoding.tokens.end(), "Ġreturn"), b.encoding.tokens.end());
  EXPECT_EQ(b.n_shared_pairs, 0);
  EXPECT_EQ(b.n_fallback, 0);
  expect_own_subwords(b, "snippet");
  // The natural tokenization merges "():" and "()" across words: offsets mode shares them, boundary splits them.
  const Alignment o = align_offsets(r.tk, text, words);
  EXPECT_GT(o.n_shared_pairs, 0);
  EXPECT_GT(b.n_subwords(), o.n_subwords());
  EXPECT_EQ(align(r.tk, text, words, Mode::Boundary, true, &r.cont).encoding.ids, b.encoding.ids);
  EXPECT_THROW(align(r.tk, text, words, Mode::Boundary), InputError);
}

TEST(AlignBoundary, NoSharedSubwordsOnRealPythonFiles) {
  // Whole stdlib modules through the shipped tokenizer: the test needs no model, only text and words.
  std::vector<fs::path> files;
  for (const char* dir : {"/usr/lib/python3.11", "/usr/lib/python3"})
    if (fs::is_directory(dir)) {
      for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".py") files.push_back(e.path());
      break;
    }
  if (files.empty()) GTEST_SKIP() << "no Python standard library installed";
  std::sort(files.begin(), files.end());
  files.resize(std::min<size_t>(files.size(), 40));
  const auto& r = real();
  int64_t words_seen = 0, shared_offsets = 0, checked = 0;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text;
    const auto words = code_words(ss.str(), &text);
    if (words.empty()) continue;
    const Alignment b = align_boundary(r.tk, r.cont, text, words);
    ASSERT_EQ(r.tk.decode(b.encoding.ids), text) << f;
    EXPECT_EQ(b.n_shared_pairs, 0) << f;
    EXPECT_EQ(b.n_fallback, 0) << f;
    expect_own_subwords(b, f.string());
    shared_offsets += align_offsets(r.tk, text, words).n_shared_pairs;
    words_seen += b.n_words();
    ++checked;
  }
  ASSERT_GE(checked, 10);
  EXPECT_GT(words_seen, 10000);
  EXPECT_GT(shared_offsets, 100);  // the artefact boundary mode removes is real on the same files
}

TEST(AlignBoundary, TraitsPickTheDefaultMode) {
  const auto t = tokenizer_traits(real().json, kTokenizer);
  EXPECT_TRUE(t.byte_level);
  EXPECT_EQ(default_mode(t), Mode::Boundary);
  EXPECT_EQ(resolve_mode("auto", t), Mode::Boundary);
  EXPECT_EQ(resolve_mode("offsets", t), Mode::Offsets);
  EXPECT_EQ(default_mode(tokenizer_traits(R"({"pre_tokenizer": {"type": "BertPreTokenizer"}})", "bert")), Mode::Offsets);
  EXPECT_THROW(resolve_mode("nearest", t), InputError);
  EXPECT_THROW(tokenizer_traits("[1, 2]", "x.json"), InputError);
}

// A SentencePiece-style BPE over the characters of `text` with a few merges, a Metaspace pre-tokenizer or the
// LLaMA-2 normalizer pair (Prepend "▁", Replace " " -> "▁"), and <s> from a template.
std::string metaspace_json(const std::string& text, bool normalizer_style) {
  const std::string sp = "\xE2\x96\x81";
  json vocab = json::object();
  int id = 0;
  vocab["<unk>"] = id++;
  vocab["<s>"] = id++;
  vocab[sp] = id++;
  for (unsigned char c : text)
    if (c != ' ' && !vocab.contains(std::string(1, char(c)))) vocab[std::string(1, char(c))] = id++;
  const std::vector<std::string> merges = {sp + " d", sp + "d e", sp + "de f", "f o", "fo o", sp + " foo", "( a", ") :", sp + " ("};
  for (const auto& m : merges) vocab[m.substr(0, m.find(' ')) + m.substr(m.find(' ') + 1)] = id++;
  json j = {{"version", "1.0"},
            {"added_tokens", json::array({{{"id", 1}, {"content", "<s>"}, {"single_word", false}, {"lstrip", false},
                                           {"rstrip", false}, {"normalized", false}, {"special", true}}})},
            {"post_processor",
             {{"type", "TemplateProcessing"},
              {"single", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
              {"pair", json::array({{{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
              {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}}},
            {"decoder", nullptr},
            {"model",
             {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", "<unk>"}, {"continuing_subword_prefix", nullptr},
              {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"vocab", vocab},
              {"merges", merges}}}};
  if (normalizer_style) {
    j["normalizer"] = {{"type", "Sequence"},
                       {"normalizers", json::array({{{"type", "Prepend"}, {"prepend", sp}},
                                                    {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", sp}}})}};
    j["pre_tokenizer"] = nullptr;
  } else {
    j["normalizer"] = nullptr;
    j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", sp}, {"prepend_scheme", "always"}, {"split", true}};
  }
  return j.dump();
}

TEST(AlignBoundary, MetaspaceTokenizersKeepTheTextWithoutExtraPrefixes) {
  const std::string sp = "\xE2\x96\x81";
  const std::string text = "def foo(a):\n  foo (a)";
  // def foo ( a ) : foo ( a )
  const std::vector<Span> words = {{0, 3}, {4, 7}, {7, 8}, {8, 9}, {9, 10}, {10, 11}, {14, 17}, {18, 19}, {19, 20}, {20, 21}};
  for (bool normalizer_style : {false, true}) {
    const std::string js = metaspace_json(text, normalizer_style);
    const auto tk = tok::Tokenizer::from_json(js, "sp");
    const auto cont = continuation_tokenizer(js, "sp");
    EXPECT_TRUE(tokenizer_traits(js, "sp").metaspace);
    EXPECT_EQ(default_mode(tokenizer_traits(js, "sp")), Mode::Boundary);
    // Encoded alone, "(" gets a prefix "▁" from the real tokenizer: the continuation twin adds none.
    EXPECT_EQ(tk.encode("(", false).tokens.front(), sp + "(") << normalizer_style;
    EXPECT_EQ(cont.encode("(", false).tokens, (std::vector<std::string>{"("})) << normalizer_style;
    const Alignment b = align_boundary(tk, cont, text, words);
    std::string joined;
    for (size_t i = 1; i < b.encoding.tokens.size(); ++i) joined += b.encoding.tokens[i];
    std::string want = sp + text;  // the one prefix the text gets as a whole; spaces become "▁"
    for (size_t p; (p = want.find(' ')) != std::string::npos;) want.replace(p, 1, sp);
    EXPECT_EQ(b.encoding.tokens.front(), "<s>");
    EXPECT_EQ(b.encoding.special_mask.front(), 1);
    EXPECT_EQ(joined, want) << normalizer_style;
    EXPECT_EQ(b.n_shared_pairs, 0) << normalizer_style;
    expect_own_subwords(b, "metaspace");
    // The natural tokenization merges "(a" and "):" across words.
    EXPECT_GT(align_offsets(tk, text, words).n_shared_pairs, 0) << normalizer_style;
  }
}

TEST(AlignBoundary, RejectsOverlappingOrUnorderedWords) {
  const auto& r = real();
  EXPECT_THROW(align_boundary(r.tk, r.cont, "ab cd", {{3, 5}, {0, 2}}), InputError);
  EXPECT_THROW(align_boundary(r.tk, r.cont, "ab cd", {{0, 4}, {3, 5}}), InputError);
  EXPECT_THROW(align_boundary(r.tk, r.cont, "ab", {{0, 3}}), InputError);
  // A word of zero bytes owns no subword and falls back, as in offsets mode; the text stays whole.
  const Alignment a = align_boundary(r.tk, r.cont, "ab  cd \n", {{0, 2}, {2, 2}, {4, 6}});
  EXPECT_EQ(r.tk.decode(a.encoding.ids), "ab  cd \n");
  EXPECT_EQ(a.n_fallback, 1);
}

}  // namespace
}  // namespace ps::align
