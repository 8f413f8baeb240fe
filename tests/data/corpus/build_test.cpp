// The build pipeline: filters, duplicates, seeded splits (deterministic, order-independent), caps, JSONL
// round trip, token counting with a real tokenizer, and corpus stats.
#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "data/corpus/build.h"
#include "data/corpus/stats.h"
#include "models/tokenizer/tokenizer.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "tests/data/corpus/corpus_test_util.h"

namespace ps::corpus {
namespace {

using nlohmann::json;
using testing::count;
using testing::ids;

std::string jsonl_line(const std::string& id, const std::string& code, const std::string& lang = "python") {
  return json{{"id", id}, {"code", code}, {"language", lang}}.dump() + "\n";
}

class Build : public testing::TempDir {
 protected:
  // n distinct Python snippets, in the given order.
  std::string many(const std::string& name, int n, bool reversed = false) {
    std::string text;
    for (int k = 0; k < n; ++k) {
      int i = reversed ? n - 1 - k : k;
      text += jsonl_line("s" + std::to_string(i), "def f" + std::to_string(i) + "(a):\n    return a + " + std::to_string(i));
    }
    return write(name, text);
  }
};

TEST_F(Build, SplitsAreDeterministicAndIndependentOfInputOrder) {
  BuildOptions opt;
  auto a = build_corpus({many("a.jsonl", 400)}, opt);
  auto b = build_corpus({many("b.jsonl", 400, /*reversed=*/true)}, opt);
  auto again = build_corpus({write("c.jsonl", ps::read_file(path("a.jsonl")))}, opt);
  ASSERT_EQ(a.snippets.size(), 400u);
  EXPECT_EQ(ids(a.snippets), ids(b.snippets));
  EXPECT_EQ(ids(a.snippets), ids(again.snippets));
  for (size_t i = 0; i < a.snippets.size(); ++i) EXPECT_EQ(a.snippets[i].split, b.snippets[i].split);
  // Output is grouped train, valid, test; fractions are roughly respected.
  std::vector<std::string> order;
  for (const auto& s : a.snippets)
    if (order.empty() || order.back() != s.split) order.push_back(s.split);
  EXPECT_EQ(order, (std::vector<std::string>{"train", "valid", "test"}));
  EXPECT_NEAR(a.summary.splits[0], 320, 40);
  EXPECT_NEAR(a.summary.splits[1], 40, 20);
  EXPECT_EQ(a.summary.splits[0] + a.summary.splits[1] + a.summary.splits[2], 400);
  EXPECT_EQ(a.summary.languages["python"].kept, 400);
  // Another seed gives another assignment.
  opt.split.seed = 7;
  auto c = build_corpus({path("a.jsonl")}, opt);
  EXPECT_NE(ids(a.snippets), ids(c.snippets));
}

TEST_F(Build, CapsKeepASeededSubsetAndNestedCapsAreSubsets) {
  std::string f = many("a.jsonl", 300);
  BuildOptions opt;
  opt.split.fractions = parse_fractions("0.5,0.25,0.25");
  opt.split.max_count = {20, 5, -1};
  auto small = build_corpus({f}, opt);
  EXPECT_EQ(small.summary.splits[0], 20);
  EXPECT_EQ(small.summary.splits[1], 5);
  opt.split.max_count = {40, 10, -1};
  auto large = build_corpus({f}, opt);
  EXPECT_EQ(large.summary.splits[0], 40);
  const auto large_ids = ids(large.snippets);
  std::set<std::string> big(large_ids.begin(), large_ids.end());
  for (const auto& s : small.snippets) EXPECT_TRUE(big.count(s.id)) << s.id;
  EXPECT_EQ(count(small.summary, SkipReason::OverCap), 300 - 20 - 5 - small.summary.splits[2]);
  EXPECT_EQ(small.summary.splits[2], large.summary.splits[2]);
}

TEST_F(Build, ParseErrorsDuplicatesAndCodeTokenLimits) {
  std::string f = write("a.jsonl", jsonl_line("ok", "def f(a):\n    return a") +
                                        jsonl_line("broken", "def f(:\n  return") +
                                        jsonl_line("z-dup", "def g(a):   return a") +
                                        jsonl_line("b-dup", "def f(a):\n    return a\n\n") +
                                        jsonl_line("tiny", "x") +
                                        jsonl_line("big", "x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"));
  BuildOptions opt;
  opt.filter.min_tokens = 2;
  opt.filter.max_tokens = 20;
  std::vector<std::string> problems;
  opt.on_problem = [&](const Problem& p) { problems.push_back(p.message); };
  auto r = build_corpus({f}, opt);
  // "ok" and "b-dup" normalize equally; the smaller id wins whatever the order.
  std::vector<std::string> got = ids(r.snippets);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"b-dup", "z-dup"}));
  EXPECT_EQ(count(r.summary, SkipReason::ParseError), 1);
  EXPECT_EQ(count(r.summary, SkipReason::Duplicate), 1);
  EXPECT_EQ(count(r.summary, SkipReason::TooFewTokens), 1);   // "x": 1 code token
  EXPECT_EQ(count(r.summary, SkipReason::TooManyTokens), 1);  // the list: 23 code tokens
  EXPECT_EQ(r.summary.languages["python"].skipped[SkipReason::ParseError], 1);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].rfind("broken: ", 0), 0u) << problems[0];
  EXPECT_NE(problems[0].find("line 1"), std::string::npos) << problems[0];
  // Parse errors can be kept on request.
  opt.filter.drop_parse_errors = false;
  opt.filter.min_tokens = opt.filter.max_tokens = 0;
  EXPECT_EQ(build_corpus({f}, opt).snippets.size(), 5u);
}

tok::Tokenizer wordpiece() {
  json vocab = json::object();
  int id = 0;
  for (const char* t : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "x", "=", "1", "+", "y"}) vocab[t] = id++;
  json j = {{"version", "1.0"},
            {"added_tokens", json::array()},
            {"normalizer", nullptr},
            {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
            {"post_processor", {{"type", "BertProcessing"}, {"sep", {"[SEP]", 3}}, {"cls", {"[CLS]", 2}}}},
            {"decoder", nullptr},
            {"model", {{"type", "WordPiece"}, {"unk_token", "[UNK]"}, {"continuing_subword_prefix", "##"},
                       {"max_input_chars_per_word", 100}, {"vocab", vocab}}}};
  return tok::Tokenizer::from_json(j.dump(), "test-wordpiece");
}

TEST_F(Build, TokenLimitsCountModelSubwordsWithSpecials) {
  auto tk = wordpiece();
  // "x = 1" -> [CLS] x = 1 [SEP] = 5; "x = y + 1" -> 7.
  std::string f = write("a.jsonl", jsonl_line("five", "x = 1") + jsonl_line("seven", "x = y + 1"));
  EXPECT_EQ(count_tokens(Snippet{"a", "python", "x = 1", "", "", "", ""}, &tk), 5);
  EXPECT_EQ(count_tokens(Snippet{"a", "python", "x = 1", "", "", "", ""}, nullptr), 3);
  BuildOptions opt;
  opt.tokenizer = &tk;
  opt.filter.max_tokens = 6;
  auto r = build_corpus({f}, opt);
  EXPECT_EQ(ids(r.snippets), (std::vector<std::string>{"five"}));
  EXPECT_EQ(count(r.summary, SkipReason::TooManyTokens), 1);
}

TEST_F(Build, FunctionCorpusFromASourceTreeRoundTripsThroughJsonl) {
  write("pkg/a.py", "def one():\n    return 1\n\ndef two(x):\n    return x * 2\n");
  write("pkg/b.go", "package b\n\nfunc Three() int { return 3 }\n");
  write("pkg/c.js", "function four() { return 4; }\nconst five = () => 5;\n");
  write("pkg/bad.py", "def broken(:\n    pass\n\ndef fine():\n    return 0\n");
  BuildOptions opt;
  opt.read.functions = true;
  auto r = build_corpus({path("pkg")}, opt);
  std::set<std::string> names;
  for (const auto& s : r.snippets) names.insert(s.language + ":" + s.func_name);
  EXPECT_EQ(names, (std::set<std::string>{"python:one", "python:two", "python:fine", "go:Three", "javascript:four",
                                          "javascript:five"}));
  EXPECT_EQ(r.summary.languages["python"].kept, 3);
  write_jsonl(path("out.jsonl"), r.snippets);
  Summary s;
  Reporter rep(s);
  std::vector<Snippet> back;
  read_jsonl(path("out.jsonl"), ReadOptions{}, rep, [&](Snippet&& x) { back.push_back(std::move(x)); });
  ASSERT_EQ(back.size(), r.snippets.size());
  for (size_t i = 0; i < back.size(); ++i) {
    EXPECT_EQ(back[i].id, r.snippets[i].id);
    EXPECT_EQ(back[i].code, r.snippets[i].code);
    EXPECT_EQ(back[i].func_name, r.snippets[i].func_name);
    EXPECT_EQ(back[i].path, r.snippets[i].path);
    EXPECT_EQ(back[i].split, r.snippets[i].split);
    EXPECT_FALSE(back[i].split.empty());
  }
  // Stats over the written corpus: every snippet parses; labels come from (d,c,u).
  auto st = corpus_stats(path("out.jsonl"), nullptr);
  EXPECT_EQ(st.languages["python"].snippets, 3);
  EXPECT_EQ(st.languages["python"].parse_failures, 0);
  EXPECT_EQ(st.languages["go"].code_tokens, 9);  // func Three ( ) int { return 3 }
}

TEST_F(Build, StatsCountTokensLabelsAndParseFailures) {
  std::string f = write("a.jsonl", json{{"id", "a"}, {"code", "x = y"}, {"language", "python"}, {"split", "train"}}.dump() +
                                        "\n" + jsonl_line("b", "def (:") + "not json\n");
  auto tk = wordpiece();
  auto st = corpus_stats(f, &tk);
  const auto& py = st.languages["python"];
  EXPECT_EQ(py.snippets, 2);
  EXPECT_EQ(py.splits[0], 1);
  EXPECT_EQ(py.parse_failures, 1);
  EXPECT_EQ(py.code_tokens, 3);
  // module > expression_statement > assignment(x, =, y): one merged chain label, then one <empty> split.
  EXPECT_EQ(py.c_labels.at("module<sep>expression_statement<sep>assignment"), 1);
  EXPECT_EQ(py.c_labels.at("<empty>"), 1);
  EXPECT_EQ(py.u_labels.at("<empty>"), 3);
  EXPECT_EQ(py.subwords, 5 + 5);  // [CLS] x = y [SEP]; [CLS] [UNK] [UNK] [UNK] [SEP]
  EXPECT_EQ(count(st.read, SkipReason::BadJson), 1);
  EXPECT_NE(st.format().find("python: 2 snippets"), std::string::npos);
}

TEST(Split, FractionsParsingAndHashing) {
  auto f = parse_fractions("8,1,1");
  EXPECT_DOUBLE_EQ(f[0], 0.8);
  EXPECT_THROW(parse_fractions("0.8,0.2"), InputError);
  EXPECT_THROW(parse_fractions("0.8,x,0.1"), InputError);
  EXPECT_THROW(parse_fractions("0.8,-0.1,0.3"), InputError);
  EXPECT_THROW(parse_fractions("0,0,0"), InputError);
  EXPECT_EQ(normalize_code("  a \n\t b  c\n"), "a b c");
  EXPECT_EQ(hash64("abc", 1), hash64("abc", 1));
  EXPECT_NE(hash64("abc", 1), hash64("abc", 2));
  EXPECT_EQ(split_for_hash(0, {1, 0, 0}), 0);
  EXPECT_EQ(split_for_hash(~0ull, {0.5, 0.5, 0}), 1);
  EXPECT_EQ(split_for_hash(~0ull, {0.2, 0.3, 0.5}), 2);
}

}  // namespace
}  // namespace ps::corpus
