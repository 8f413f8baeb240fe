// Save snippet to corpus: appended records read back through read_jsonl/load/find; existing bytes are kept
// (a missing final newline is supplied, never a line merged); bad snippets and duplicate ids change nothing;
// concurrent appenders lose no record.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "data/corpus/append.h"
#include "data/corpus/load.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "tests/data/corpus/corpus_test_util.h"

namespace ps::corpus {
namespace {

using Append = testing::TempDir;

Snippet snippet(const std::string& code, const std::string& id = "", const std::string& lang = "python") {
  Snippet s;
  s.id = id;
  s.language = lang;
  s.code = code;
  return s;
}

TEST_F(Append, RecordsReadBackThroughTheCorpusReader) {
  const auto f = path("new/corpus.jsonl");
  std::filesystem::create_directories(dir_ / "new");
  auto s = snippet("def f(x):\n    return \"é\" + x\n", "mine");
  s.func_name = "f";
  s.split = "test";
  EXPECT_EQ(append_snippet(f, s), "mine");
  const std::string second = append_snippet(f, snippet("func main() {}\n", "", "go"));
  EXPECT_EQ(second.rfind("scratchpad-", 0), 0u);
  EXPECT_EQ(second.size(), std::string("scratchpad-").size() + 16);
  const auto loaded = load(f);
  ASSERT_EQ(loaded.snippets.size(), 2u);
  EXPECT_EQ(loaded.snippets[0].code, s.code);
  EXPECT_EQ(loaded.snippets[0].func_name, "f");
  EXPECT_EQ(loaded.snippets[0].split, "test");
  EXPECT_EQ(loaded.snippets[0].language, "python");
  EXPECT_EQ(loaded.snippets[1].language, "go");
  EXPECT_EQ(find(f, second).code, "func main() {}\n");
  EXPECT_FALSE(std::filesystem::exists(f + ".tmp"));
}

TEST_F(Append, ExistingBytesAreKeptAndAnUnterminatedLastLineGetsItsNewline) {
  const std::string old = "{\"id\":\"a\",\"language\":\"python\",\"code\":\"x = 1\\n\"}";  // no final newline
  const auto f = write("c.jsonl", old);
  append_snippet(f, snippet("y = 2\n", "b"));
  const std::string now = read_file(f);
  EXPECT_EQ(now.substr(0, old.size() + 1), old + "\n");
  const auto loaded = load(f);
  ASSERT_EQ(loaded.snippets.size(), 2u);
  EXPECT_EQ(loaded.snippets[0].id, "a");
  EXPECT_EQ(loaded.snippets[1].id, "b");
}

TEST_F(Append, BadSnippetsAndDuplicateIdsLeaveTheFileUnchanged) {
  const auto f = write("c.jsonl", "{\"id\":\"a\",\"language\":\"python\",\"code\":\"x = 1\\n\"}\n");
  const std::string before = read_file(f);
  auto refused = [&](Snippet s, const std::string& needle) {
    try {
      append_snippet(f, s);
      ADD_FAILURE() << "accepted; expected an error naming " << needle;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
    }
    EXPECT_EQ(read_file(f), before);
  };
  refused(snippet("z = 3\n", "a"), "already has id 'a'");
  refused(snippet("z = 3\n", "", "cobol"), "unsupported language");
  refused(snippet("   \n"), "code");
  refused(snippet(std::string("x = '\xff'\n")), "code");
  refused(snippet(std::string(6000, 'x') + "\n"), "code");
}

TEST_F(Append, ConcurrentAppendersLoseNoRecord) {
  const auto f = path("c.jsonl");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) append_snippet(f, snippet("v = " + std::to_string(t * 100 + i) + "\n"));
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(load(f).snippets.size(), 40u);
}

}  // namespace
}  // namespace ps::corpus
