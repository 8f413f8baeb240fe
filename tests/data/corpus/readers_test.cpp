// Readers: JSONL, directory trees, plain text, and every class of bad input counted and named.
#include <sys/stat.h>

#include "data/corpus/readers.h"
#include "tests/data/corpus/corpus_test_util.h"

namespace ps::corpus {
namespace {

using testing::count;
using testing::ids;

class Readers : public testing::TempDir {
 protected:
  std::vector<Snippet> read(const std::string& input, const ReadOptions& opt) {
    std::vector<Snippet> out;
    Reporter rep(summary, [&](const Problem& p) { lines.push_back(p.message); });
    read_input(input, opt, rep, [&](Snippet&& s) { out.push_back(std::move(s)); });
    return out;
  }
  bool line_mentions(const std::string& a, const std::string& b = "") const {
    for (const auto& l : lines)
      if (l.find(a) != std::string::npos && l.find(b) != std::string::npos) return true;
    return false;
  }
  Summary summary;
  std::vector<std::string> lines;
};

TEST_F(Readers, JsonlCodeSearchNetFieldsAndBadLines) {
  std::string f = write("c.jsonl",
                        "{\"code\": \"def f():\\n    return 1\", \"language\": \"python\", \"func_name\": \"f\", "
                        "\"url\": \"https://x/f\", \"path\": \"a/f.py\"}\n"
                        "\n"
                        "{\"original_string\": \"func g() {}\", \"language\": \"go\", \"func_name\": \"g\"}\n"
                        "{not json\n"
                        "[1, 2]\n"
                        "{\"language\": \"python\"}\n"
                        "{\"code\": \"<?php ?>\", \"language\": \"php\"}\n"
                        "{\"code\": \"x\xff\", \"language\": \"python\"}\n"
                        "{\"code\": \"\", \"language\": \"python\"}\n"
                        "{\"code\": \"x = 1\"}\n"
                        "{\"code\": \"let a = 1\", \"language\": \"js\", \"id\": \"mine\"}\n");
  auto v = read(f, ReadOptions{});
  ASSERT_EQ(ids(v), (std::vector<std::string>{f + ":1", f + ":3", "mine"}));
  EXPECT_EQ(v[0].code, "def f():\n    return 1");
  EXPECT_EQ(v[0].func_name, "f");
  EXPECT_EQ(v[0].url, "https://x/f");
  EXPECT_EQ(v[0].path, "a/f.py");
  EXPECT_EQ(v[1].code, "func g() {}");  // from original_string
  EXPECT_EQ(v[1].language, "go");
  EXPECT_EQ(v[2].language, "javascript");  // "js" normalized
  EXPECT_EQ(count(summary, SkipReason::BadJson), 4);  // lines 4, 5, 6 and 10 (no language under auto)
  EXPECT_EQ(count(summary, SkipReason::Unsupported), 1);
  EXPECT_EQ(count(summary, SkipReason::BadUtf8), 1);
  EXPECT_EQ(count(summary, SkipReason::Empty), 1);
  EXPECT_TRUE(line_mentions(f + ":4:", "not valid JSON"));
  EXPECT_TRUE(line_mentions(f + ":5:", "not a JSON object"));
  EXPECT_TRUE(line_mentions(f + ":6:", "code"));
  EXPECT_TRUE(line_mentions(f + ":7:", "php"));
  EXPECT_TRUE(line_mentions(f + ":8:", "UTF-8"));
  // With --language python, records without a language take it and other languages are excluded.
  summary = Summary{};
  lines.clear();
  ReadOptions py;
  py.language = "python";
  auto w = read(f, py);
  EXPECT_EQ(ids(w), (std::vector<std::string>{f + ":1", f + ":10"}));
  EXPECT_EQ(count(summary, SkipReason::Excluded), 2);  // go, javascript
}

// Found by fuzz_corpus_jsonl: an unknown "language" holding an escaped "\r" or "\n" made the problem
// (and the summary table) span several lines; long names are cut.
TEST_F(Readers, JsonlUnsupportedLanguageStaysOneLine) {
  std::string f = write("l.jsonl", "{\"code\": \"x\", \"language\": \"ja\\r\\nva\"}\n{\"code\": \"x\", \"language\": \"" +
                                       std::string(100, 'z') + "\"}\n");
  auto v = read(f, ReadOptions{});
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(count(summary, SkipReason::Unsupported), 2);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], f + ":1: unsupported language 'ja??va'");
  EXPECT_EQ(lines[1], f + ":2: unsupported language '" + std::string(64, 'z') + "...'");
  for (const auto& l : lines) EXPECT_EQ(l.find_first_of("\r\n"), std::string::npos) << l;
}

TEST_F(Readers, DirectoryIsWalkedInSortedOrderWithGlobs) {
  write("b.py", "x = 1\n");
  write("a.go", "package a\n");
  write("sub/c.js", "let c = 1\n");
  write("sub/test_d.py", "d = 1\n");
  write("a_dir/e.java", "class E {}\n");
  write(".hidden/f.py", "f = 1\n");
  write("README.md", "# readme\n");
  write("skip/g.py", "g = 1\n");
  ReadOptions opt;
  opt.exclude = {"test_*", "skip/"};
  auto v = read(dir_.string(), opt);
  // Files of a directory first (sorted), then its subdirectories (sorted).
  EXPECT_EQ(ids(v), (std::vector<std::string>{path("a.go"), path("b.py"), path("a_dir/e.java"), path("sub/c.js")}));
  EXPECT_EQ(v[0].language, "go");
  EXPECT_EQ(v[3].language, "javascript");
  EXPECT_EQ(count(summary, SkipReason::Unsupported), 1);  // README.md, counted quietly
  EXPECT_EQ(count(summary, SkipReason::Excluded), 1);     // test_d.py (skip/ is not entered)
  EXPECT_TRUE(lines.empty());
  // Language selection and include globs.
  summary = Summary{};
  opt = ReadOptions{};
  opt.language = "python";
  opt.include = {"*.py"};
  EXPECT_EQ(ids(read(dir_.string(), opt)),
            (std::vector<std::string>{path("b.py"), path("skip/g.py"), path("sub/test_d.py")}));
  EXPECT_EQ(count(summary, SkipReason::Excluded), 4);  // README.md, a.go, e.java, c.js
}

TEST_F(Readers, FunctionsBecomeSnippets) {
  std::string f = write("m.py",
                        "import os\n"
                        "\n"
                        "def top(a):\n"
                        "    def inner():\n"
                        "        return a\n"
                        "    return inner\n"
                        "\n"
                        "class K:\n"
                        "    def method(self):  # comment kept in code\n"
                        "        return 2\n");
  write("none.py", "x = 1\n");
  ReadOptions opt;
  opt.functions = true;
  auto v = read(dir_.string(), opt);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].func_name, "top");
  EXPECT_EQ(v[0].id, f + ":3:top");
  EXPECT_EQ(v[0].code, "def top(a):\n    def inner():\n        return a\n    return inner");
  EXPECT_EQ(v[1].func_name, "method");
  EXPECT_EQ(v[1].code, "def method(self):  # comment kept in code\n        return 2");
  EXPECT_EQ(v[1].path, f);
  EXPECT_EQ(count(summary, SkipReason::NoFunctions), 1);
  summary = Summary{};
  opt.include_nested = true;
  auto nested = read(f, opt);
  EXPECT_EQ(nested.size(), 3u);
}

TEST_F(Readers, PlainTextPerFileOrParagraph) {
  std::string f = write("notes.txt", "first para\nline two\n\n  \nsecond\n\n\nthird\n");
  ReadOptions opt;
  opt.language = "text";
  auto v = read(f, opt);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].language, "text");
  EXPECT_EQ(v[0].code, "first para\nline two\n\n  \nsecond\n\n\nthird\n");
  opt.text_mode = TextMode::Paragraph;
  auto p = read(f, opt);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].code, "first para\nline two");
  EXPECT_EQ(p[1].code, "second");
  EXPECT_EQ(p[2].id, f + "#2");
}

TEST_F(Readers, EveryBadInputClassIsCountedNamedAndSkipped) {
  write("good.py", "def ok():\n    return 1\n");
  write("bad_utf8.py", "x = '\xc3\x28'\n");
  write("binary.py", std::string("x = 1\0\0\0", 8));
  write("empty.py", "");
  write("blank.go", "  \n\t\n");
  write("long_line.js", "var a = [" + std::string(6000, '1') + "];\n");
  write("huge.js", std::string(10u << 20, 'a'));  // 10 MB on one line: rejected by size before it is read
  write("notes.xyz", "whatever\n");
  std::filesystem::create_symlink(path("does-not-exist.py"), path("dangling.py"));
  ASSERT_EQ(::mkfifo(path("pipe.py").c_str(), 0600), 0);  // would block a naive reader forever
  bool root = ::geteuid() == 0;
  if (!root) {
    write("noperm.py", "x = 1\n");
    ::chmod(path("noperm.py").c_str(), 0);
  }
  auto v = read(dir_.string(), ReadOptions{});
  ASSERT_EQ(ids(v), (std::vector<std::string>{path("good.py")}));
  EXPECT_EQ(count(summary, SkipReason::BadUtf8), 1);
  EXPECT_EQ(count(summary, SkipReason::Binary), 1);
  EXPECT_EQ(count(summary, SkipReason::Empty), 2);
  EXPECT_EQ(count(summary, SkipReason::LongLine), 1);
  EXPECT_EQ(count(summary, SkipReason::TooLarge), 1);
  EXPECT_EQ(count(summary, SkipReason::Unsupported), 1);
  EXPECT_EQ(count(summary, SkipReason::Unreadable), root ? 2 : 3);
  EXPECT_TRUE(line_mentions("bad_utf8.py", "invalid UTF-8 at byte offset 5"));
  EXPECT_TRUE(line_mentions("binary.py", "NUL byte at offset 5"));
  EXPECT_TRUE(line_mentions("empty.py", "empty"));
  EXPECT_TRUE(line_mentions("long_line.js", "line 1"));
  EXPECT_TRUE(line_mentions("huge.js", "10485760 bytes"));
  EXPECT_TRUE(line_mentions("dangling.py"));
  EXPECT_TRUE(line_mentions("pipe.py", "not a regular file"));
  EXPECT_EQ(summary.files_seen, root ? 10 : 11);
  EXPECT_EQ(summary.languages["python"].skipped[SkipReason::Binary], 1);
  // A missing input path is one more unreadable entry, not an exception.
  read(path("nope.py"), ReadOptions{});
  EXPECT_EQ(count(summary, SkipReason::Unreadable), root ? 3 : 4);
  // Every problem is one line that starts with the file it is about.
  for (const auto& l : lines) {
    EXPECT_EQ(l.find('\n'), std::string::npos) << l;
    EXPECT_EQ(l.rfind(dir_.string(), 0), 0u) << l;
  }
}

TEST(TextCheck, Utf8Validator) {
  EXPECT_TRUE(valid_utf8("h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 12));
  size_t bad = 0;
  EXPECT_FALSE(valid_utf8("ab\xc0\xaf", 4, &bad));  // overlong '/'
  EXPECT_EQ(bad, 2u);
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80", 3));       // surrogate
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80", 4));   // > U+10FFFF
  EXPECT_FALSE(valid_utf8("\xe2\x82", 2));           // truncated
  EXPECT_FALSE(valid_utf8("\x80", 1));               // stray continuation
}

}  // namespace
}  // namespace ps::corpus
