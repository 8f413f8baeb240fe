// Task labels from Tree-sitter and corpus-derived datasets: splits, balance, length filter, errors.
#include <gtest/gtest.h>

#include <fstream>

#include "analysis/said/tasks.h"
#include "models/tokenizer/tokenizer.h"
#include "models/util/error.h"
#include "tests/analysis/said/said_fixtures.h"

namespace ps::said {
namespace {

using syntax::Language;

TEST(Returns, PythonValueBareAndNested) {
  EXPECT_EQ(returns_value("def f(x):\n    return x + 1\n", Language::Python), true);
  EXPECT_EQ(returns_value("def f(x):\n    if x:\n        return\n    print(x)\n", Language::Python), false);
  // The inner function's return is not the outer function's.
  EXPECT_EQ(returns_value("def f(x):\n    def g():\n        return 1\n    g()\n", Language::Python), false);
  EXPECT_EQ(returns_value("def f(x):\n    return (x)\n", Language::Python), true);
  // A regex would be fooled by these; the parse is not.
  EXPECT_EQ(returns_value("def f(x):\n    s = 'return 1'\n    # return 2\n    pass\n", Language::Python), false);
  EXPECT_EQ(returns_value("def f(x):\n    return_value = 3\n", Language::Python), false);
  EXPECT_EQ(returns_value("def f(:\n", Language::Python), std::nullopt);
}

TEST(Returns, OtherLanguages) {
  EXPECT_EQ(returns_value("func f() int { return 1 }", Language::Go), true);
  EXPECT_EQ(returns_value("func f() { if x { return }; g() }", Language::Go), false);
  EXPECT_EQ(returns_value("func f() { h := func() int { return 2 }; h() }", Language::Go), false);
  EXPECT_EQ(returns_value("function f(a) { return a * 2; }", Language::JavaScript), true);
  EXPECT_EQ(returns_value("function f(a) { a.map(x => { return x; }); return; }", Language::JavaScript), false);
  EXPECT_EQ(returns_value("const f = (a) => a + 1", Language::JavaScript), true);
  EXPECT_EQ(returns_value("class A { int f() { return 1; } }", Language::Java), true);
  EXPECT_EQ(returns_value("class A { void f() { Runnable r = () -> { return; }; r.run(); } }", Language::Java), false);
  EXPECT_EQ(returns_value("int f(int a) { return a; }", Language::Cpp), true);
  EXPECT_EQ(returns_value("void f() { auto g = []() { return 3; }; g(); return; }", Language::Cpp), false);
}

corpus::Snippet snip(const std::string& id, const std::string& lang, const std::string& code, const std::string& split) {
  corpus::Snippet s;
  s.id = id, s.language = lang, s.code = code, s.split = split;
  return s;
}

TEST(BuildTask, LanguageBalancedWithSplitsAndLengthFilter) {
  const auto tok = tok::Tokenizer::from_json(test::byte_tokenizer_json(), "bytes");
  std::vector<corpus::Snippet> s;
  for (int i = 0; i < 40; ++i) {
    const std::string split = i % 4 == 0 ? "valid" : (i % 4 == 1 ? "test" : "train");
    s.push_back(snip("py" + std::to_string(i), "python", "def f" + std::to_string(i) + "():\n    return 1\n", split));
    s.push_back(snip("go" + std::to_string(i), "go", "func g" + std::to_string(i) + "() int { return 2 }", split));
  }
  s.push_back(snip("long", "go", "func h() int { return " + std::string(300, '1') + " }", "train"));
  TaskOptions o;
  o.task = Task::Language;
  o.max_len = 64, o.max_train = 16, o.max_valid = 100;
  const auto data = build_task(s, tok, o);
  EXPECT_EQ(data.classes, (std::vector<std::string>{"go", "python"}));
  EXPECT_EQ(data.class_counts(data.train), (std::vector<int64_t>{8, 8}));
  EXPECT_EQ(data.class_counts(data.valid), (std::vector<int64_t>{10, 10}));  // all 10 per language; test unused
  for (const auto& x : data.valid) EXPECT_EQ(x.id.size() >= 3 && std::stoi(x.id.substr(2)) % 4 == 0, true) << x.id;
  for (const auto& x : data.train) {
    EXPECT_LE(int64_t(x.ids.size()), 64);
    EXPECT_EQ(x.label, x.id.rfind("go", 0) == 0 ? 0 : 1);
  }
  // Same seed, same sample; another seed picks other training snippets.
  const auto again = build_task(s, tok, o);
  ASSERT_EQ(again.train.size(), data.train.size());
  for (size_t i = 0; i < data.train.size(); ++i) EXPECT_EQ(again.train[i].id, data.train[i].id);
  o.seed = 999;
  const auto other = build_task(s, tok, o);
  bool differs = false;
  for (size_t i = 0; i < data.train.size(); ++i) differs |= other.train[i].id != data.train[i].id;
  EXPECT_TRUE(differs);
}

TEST(BuildTask, ReturnsLabelsFromTheParseAndCountsSkips) {
  const auto tok = tok::Tokenizer::from_json(test::byte_tokenizer_json(), "bytes");
  std::vector<corpus::Snippet> s;
  for (int i = 0; i < 30; ++i) {
    const std::string n = std::to_string(i);
    s.push_back(snip("v" + n, "python", "def f" + n + "(x):\n    return x\n", ""));  // no split field: seeded hash
    s.push_back(snip("n" + n, "python", "def g" + n + "(x):\n    print(x)\n", ""));
  }
  s.push_back(snip("bad", "python", "def (:\n", "train"));
  s.push_back(snip("txt", "text", "hello", "train"));
  TaskOptions o;
  o.task = Task::Returns;
  o.max_train = 1000, o.max_valid = 1000;
  const auto data = build_task(s, tok, o);
  EXPECT_EQ(data.unparsed, 1);
  EXPECT_EQ(data.unsupported, 1);
  EXPECT_EQ(data.train.size() + data.valid.size(), 60u);
  EXPECT_GT(data.valid.size(), 3u);
  for (const auto* xs : {&data.train, &data.valid})
    for (const auto& x : *xs) EXPECT_EQ(x.label, x.id[0] == 'v' ? 1 : 0) << x.id;
}

TEST(BuildTask, Errors) {
  const auto tok = tok::Tokenizer::from_json(test::byte_tokenizer_json(), "bytes");
  std::vector<corpus::Snippet> one{snip("a", "python", "def f():\n    pass\n", "train")};
  EXPECT_THROW(build_task(one, tok, {}), InputError);  // one language only
  EXPECT_THROW(task_from_name("sentiment"), InputError);
  EXPECT_THROW(read_corpora({"/nonexistent/corpus.jsonl"}), InputError);
  const auto dir = test::temp_dir("tasks");
  std::ofstream(dir + "/c.jsonl") << "{\"code\":\"def f():\\n    return 1\\n\",\"language\":\"python\",\"split\":\"train\"}\n"
                                  << "not json\n";
  const auto read = read_corpora({dir + "/c.jsonl"});
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].split, "train");
}

}  // namespace
}  // namespace ps::said
