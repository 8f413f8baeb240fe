// Parsing: languages, comment removal, string collapsing, error reporting, bad input, snippets, rendering.
#include <gtest/gtest.h>

#include <chrono>

#include "data/syntax/comments.h"
#include "data/syntax/dcu.h"
#include "data/syntax/labelled_tree.h"
#include "data/syntax/tree_text.h"
#include "data/syntax/snippets.h"

using namespace ps::syntax;

namespace {
using Strs = std::vector<std::string>;

Strs token_texts(const std::string& code, Language lang) {
  ParseResult r = try_parse(code, lang);
  EXPECT_TRUE(r.ok()) << r.message;
  Strs out;
  for (const auto& t : code_tokens(r.tree, r.code)) out.push_back(t.text);
  return out;
}

TEST(Parse, LanguageNames) {
  EXPECT_EQ(language_from_name("go"), Language::Go);
  EXPECT_EQ(std::string(language_name(Language::Cpp)), "cpp");
  EXPECT_EQ(language_from_extension("a/b.PY"), Language::Python);
  EXPECT_EQ(language_from_extension("x.hpp"), Language::Cpp);
  EXPECT_EQ(language_from_extension("java"), Language::Java);
  EXPECT_FALSE(language_from_extension("x.rs").has_value());
  EXPECT_THROW(language_from_name("rust"), ps::InputError);
  for (Language l : {Language::Python, Language::JavaScript, Language::Go, Language::Java, Language::Cpp})
    EXPECT_NE(ts_language(l), nullptr);
}

TEST(Parse, KeepsAnonymousNodesInPreOrder) {
  SyntaxTree t = parse("x = (1)\n", Language::Python);
  EXPECT_EQ(token_texts("x = (1)\n", Language::Python), (Strs{"x", "=", "(", "1", ")"}));
  bool anon = false;
  for (int i = 0; i < static_cast<int>(t.nodes.size()); ++i) {
    anon |= !t.nodes[i].named;
    for (int c : t.nodes[i].children) {
      EXPECT_GT(c, i);
      EXPECT_EQ(t.nodes[c].parent, i);
    }
  }
  EXPECT_TRUE(anon);
}

TEST(Parse, CommentsRemovedBeforeParsingOffsetsKept) {
  std::string py = "x = 1  # note\ny = 2\n";
  ParseResult r = try_parse(py, Language::Python);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.code, "x = 1        \ny = 2\n");
  for (const auto& n : r.tree.nodes) EXPECT_FALSE(is_comment_type(n.type));
  EXPECT_EQ(token_texts("int f() { // c\n  return /* x */ 1; }", Language::Cpp),
            (Strs{"int", "f", "(", ")", "{", "return", "1", ";", "}"}));
  EXPECT_EQ(token_texts("class A { /** d */ int x; // y\n}", Language::Java), (Strs{"class", "A", "{", "int", "x", ";", "}"}));
  EXPECT_EQ(token_texts("let a = 1; // z\n/* w */", Language::JavaScript), (Strs{"let", "a", "=", "1", ";"}));
  EXPECT_EQ(strip_comments("a := 1 // é\n", Language::Go), "a := 1      \n");  // 'é' is two bytes
}

TEST(Parse, PythonDocstrings) {
  std::string code = "def f():\n    \"\"\"Doc.\"\"\"\n    return 1\n\ndef g():\n    \"\"\"Only.\"\"\"\n";
  ParseResult r = try_parse(code, Language::Python);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.code.find("Doc."), std::string::npos);
  EXPECT_NE(r.code.find("Only."), std::string::npos);  // the sole statement of a body stays
  ParseOptions keep;
  keep.remove_docstrings = false;
  EXPECT_NE(try_parse(code, Language::Python, keep).code.find("Doc."), std::string::npos);
}

TEST(Parse, StringLiteralsCollapse) {
  EXPECT_EQ(token_texts("s = f\"a{b}c\" + 'x'\n", Language::Python), (Strs{"s", "=", "f\"a{b}c\"", "+", "'x'"}));
  EXPECT_EQ(token_texts("x := \"a\\n\" + `raw`", Language::Go), (Strs{"x", ":=", "\"a\\n\"", "+", "`raw`"}));
  // Go's zero-width statement terminator at end of input is dropped (kept only when asked).
  EXPECT_EQ(token_texts("a := 1\nb := 2", Language::Go), (Strs{"a", ":=", "1", "b", ":=", "2"}));
  ParseOptions keep_zero;
  keep_zero.drop_zero_width = false;
  ParseResult z = try_parse("a := 1", Language::Go, keep_zero);
  EXPECT_EQ(code_tokens(z.tree, z.code).back().text, "");
  EXPECT_EQ(token_texts("f(`a${b}c`, 'd');", Language::JavaScript), (Strs{"f", "(", "`a${b}c`", ",", "'d'", ")", ";"}));
  EXPECT_EQ(token_texts("class A { String s = \"q\"; }", Language::Java), (Strs{"class", "A", "{", "String", "s", "=", "\"q\"", ";", "}"}));
  EXPECT_EQ(token_texts("auto s = u8\"q\"; char c = 'x';", Language::Cpp),
            (Strs{"auto", "s", "=", "u8\"q\"", ";", "char", "c", "=", "'x'", ";"}));
  ParseOptions raw;
  raw.collapse_strings = false;
  raw.drop_zero_width = false;
  ParseResult r = try_parse("s = 'ab'\n", Language::Python, raw);
  EXPECT_GT(code_tokens(r.tree, r.code).size(), 3u);  // string_start, string_content, string_end
}

TEST(Parse, SyntaxErrorsAreReported) {
  ParseOptions opt;
  opt.source_name = "bad.py";
  ParseResult r = try_parse("def f(:\n  return\n", Language::Python, opt);
  EXPECT_EQ(r.status, ParseStatus::SyntaxError);
  EXPECT_EQ(r.message.rfind("bad.py: line 1:", 0), 0u) << r.message;
  EXPECT_TRUE(r.tree.nodes[r.tree.root].has_error);
  EXPECT_THROW(parse("int f( {", Language::Cpp), ParseError);
  ParseResult missing = try_parse("x = (1, 2\n", Language::Python);
  EXPECT_EQ(missing.status, ParseStatus::SyntaxError) << missing.message;
}

TEST(Parse, BadInputGivesClearErrors) {
  EXPECT_EQ(try_parse("", Language::Python).status, ParseStatus::Empty);
  EXPECT_EQ(try_parse("# only a comment\n", Language::Python).status, ParseStatus::Empty);
  ParseResult utf = try_parse("x = '\xff\xfe'\n", Language::Python);
  EXPECT_EQ(utf.status, ParseStatus::BadEncoding);
  EXPECT_EQ(utf.message, "byte 5: invalid UTF-8");
  try {
    parse("a = \xc0\x80", Language::Python);
    FAIL() << "overlong encoding accepted";
  } catch (const ParseError& e) {
    EXPECT_EQ(e.status, ParseStatus::BadEncoding);
  }
  // 10 MB on one line: rejected by size before any parsing, and bounded in time when the cap is lifted.
  std::string big(10u << 20, 'a');
  auto t0 = std::chrono::steady_clock::now();
  ParseResult tl = try_parse(big, Language::JavaScript);
  EXPECT_EQ(tl.status, ParseStatus::TooLarge);
  EXPECT_EQ(tl.message, "input is 10485760 bytes, over the limit of 4194304");
  ParseOptions lifted;
  lifted.max_bytes = big.size();
  lifted.timeout_micros = 100000;
  std::string expr;
  for (int i = 0; i < 1000000; ++i) expr += "a+(";
  ParseResult to = try_parse(expr, Language::JavaScript, lifted);
  EXPECT_TRUE(to.status == ParseStatus::Timeout || to.status == ParseStatus::TooDeep) << to.message;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
  // Deep nesting is refused instead of feeding deep trees to consumers.
  ParseResult deep = try_parse(std::string(3000, '[') + std::string(3000, ']'), Language::JavaScript);
  EXPECT_EQ(deep.status, ParseStatus::TooDeep) << deep.message;
}

TEST(Snippets, FunctionsPerLanguage) {
  auto names = [](const std::string& code, Language lang) {
    Strs out;
    for (const auto& s : extract_functions(code, lang)) {
      EXPECT_FALSE(s.has_error);
      EXPECT_EQ(s.text.size(), s.end_byte - s.start_byte);
      EXPECT_EQ(s.tree.nodes[s.tree.root].start_byte, 0u);
      out.push_back(s.kind + ":" + s.name);
    }
    return out;
  };
  EXPECT_EQ(names("def a():\n  def inner(): pass\n  return 1\nclass C:\n  def m(self): pass\n", Language::Python),
            (Strs{"function_definition:a", "function_definition:m"}));
  EXPECT_EQ(names("function f() {}\nconst g = (x) => x;\nclass K { h() {} }\n", Language::JavaScript),
            (Strs{"function_declaration:f", "arrow_function:g", "method_definition:h"}));
  EXPECT_EQ(names("package p\nfunc F() {}\nfunc (r *T) M() {}\n", Language::Go),
            (Strs{"function_declaration:F", "method_declaration:M"}));
  EXPECT_EQ(names("class A { A() {} int m() { return 1; } }", Language::Java),
            (Strs{"constructor_declaration:A", "method_declaration:m"}));
  EXPECT_EQ(names("int *f(int x) { return 0; }\nvoid N::g() {}\n", Language::Cpp),
            (Strs{"function_definition:f", "function_definition:N::g"}));
  // A broken function does not hide its clean neighbours.
  auto mixed = extract_functions("def ok():\n  return 1\ndef bad(:\n  pass\n", Language::Python);
  ASSERT_GE(mixed.size(), 1u);
  EXPECT_EQ(mixed[0].name, "ok");
  EXPECT_FALSE(mixed[0].has_error);
  SnippetOptions nested;
  nested.include_nested = true;
  EXPECT_EQ(extract_functions("def a():\n  def b(): pass\n", Language::Python, nested).size(), 2u);
}

TEST(Render, AstForm) {
  std::string code = "x = 'a'\n";
  SyntaxTree t = parse(code, Language::Python);
  EXPECT_EQ(render_ast(t, code),
            "(module\n  (expression_statement\n    (assignment\n      identifier \"x\"\n      \"=\"\n      string "
            "\"'a'\")))\n");
  Dcu dcu{{1}, {"assignment"}, {"<empty>", "<empty>"}};
  EXPECT_EQ(render_dcu(dcu, {"x", "\n"}), "tokens: \"x\" \"\\n\"\nd: 1\nc: assignment\nu: <empty> <empty>\n");
}

}  // namespace
