// Gold round trip on real code found on this machine: for every snippet that parses cleanly,
// AST -> binarize -> (d, c, u) -> tree must rebuild the original labelled tree exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/syntax/dcu.h"
#include "data/syntax/tree_text.h"
#include "data/syntax/snippets.h"
#include "data/syntax/structural.h"

using namespace ps::syntax;
namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxFiles = 80, kMaxSnippets = 300, kMaxFileBytes = 256 << 10;

// Files under the first existing roots whose extension maps to `lang`, sorted for determinism.
std::vector<fs::path> find_sources(const std::vector<std::string>& roots, Language lang) {
  std::vector<fs::path> out;
  for (const auto& root : roots) {
    std::error_code ec;
    if (!fs::is_directory(root, ec)) continue;
    for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (!it->is_regular_file(ec) || it->file_size(ec) > kMaxFileBytes) continue;
      auto l = language_from_extension(it->path().extension().string());
      if (l && *l == lang && it->path().string().find("testdata") == std::string::npos) out.push_back(it->path());
    }
  }
  std::sort(out.begin(), out.end());
  // Spread the sample over the tree instead of taking one directory.
  std::vector<fs::path> sample;
  size_t step = std::max<size_t>(1, out.size() / kMaxFiles);
  for (size_t i = 0; i < out.size() && sample.size() < kMaxFiles; i += step) sample.push_back(out[i]);
  return sample;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Counts {
  size_t files = 0, file_errors = 0, snippets = 0, broken = 0, checked = 0;
};

// Checks one clean tree; returns false (with a failure) when the round trip does not reproduce it.
bool check_round_trip(const SyntaxTree& tree, const std::string& code, const std::string& where) {
  LabelledTree gold = to_labelled(tree);
  Dcu dcu = ast_to_dcu(tree);
  size_t n = code_tokens(tree, code).size();
  EXPECT_EQ(dcu.u.size(), n) << where;
  EXPECT_EQ(dcu.d.size() + 1, n) << where;
  LabelledTree back = dcu_to_tree(dcu);
  if (back != gold) {
    ADD_FAILURE() << where << ": round trip differs\n" << render_labelled(gold) << "\nvs\n" << render_labelled(back);
    return false;
  }
  EXPECT_EQ(constituents(back), constituents(gold)) << where;
  // Every label path is a real node type: no <empty> and no <sep> survive the expansion.
  for (const auto& c : constituents(back)) EXPECT_EQ(c.label.find('<'), std::string::npos) << where;
  return true;
}

Counts run_corpus(const std::vector<std::string>& roots, Language lang) {
  Counts k;
  for (const auto& path : find_sources(roots, lang)) {
    if (k.checked >= kMaxSnippets) break;
    std::string code = slurp(path);
    ++k.files;
    std::vector<Snippet> snippets;
    try {
      snippets = extract_functions(code, lang);
    } catch (const ParseError& e) {
      ++k.file_errors;  // bad encoding, too large, too deep: reported, skipped
      continue;
    }
    for (const auto& s : snippets) {
      if (k.checked >= kMaxSnippets) break;
      ++k.snippets;
      if (s.has_error) {
        ++k.broken;
        continue;
      }
      ++k.checked;
      if (!check_round_trip(s.tree, s.text, path.string() + ":" + s.name)) return k;
    }
  }
  std::printf("[%s] files %zu (unreadable %zu), snippets %zu, with parse errors %zu, round-tripped %zu\n",
              language_name(lang), k.files, k.file_errors, k.snippets, k.broken, k.checked);
  return k;
}

void corpus_test(const std::vector<std::string>& roots, Language lang) {
  Counts k = run_corpus(roots, lang);
  if (k.files == 0) GTEST_SKIP() << "no " << language_name(lang) << " sources found on this machine";
  EXPECT_GE(k.checked, 50u) << "too few clean snippets to mean anything";
}

TEST(RoundTrip, PythonStdlib) { corpus_test({"/usr/lib/python3.11", "/usr/lib/python3"}, Language::Python); }
TEST(RoundTrip, JavaScriptNodeModules) {
  corpus_test({"/usr/share/nodejs", "/usr/lib/node_modules", PS_SOURCE_DIR "/.cache/node/node_modules"},
              Language::JavaScript);
}
TEST(RoundTrip, GoSources) {
  std::vector<std::string> roots;
  for (const char* base : {"/usr/lib", "/usr/share", "/usr/local"}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(base, ec))
      if (std::string name = e.path().filename().string(); name == "go" || name.rfind("go-", 0) == 0)
        roots.push_back((e.path() / "src").string());
  }
  std::sort(roots.begin(), roots.end());
  corpus_test(roots, Language::Go);
}
TEST(RoundTrip, JavaSources) {
  const char* env = std::getenv("PS_JAVA_SOURCES");
  corpus_test({env ? env : "/usr/share/java-sources", "/usr/lib/jvm"}, Language::Java);
}
TEST(RoundTrip, CppHeaders) { corpus_test({"/usr/include/c++/12"}, Language::Cpp); }

// Always-present code for every language, so each grammar's round trip runs even without corpora.
TEST(RoundTrip, HandWrittenAllLanguages) {
  struct Case { Language lang; std::string code; };
  std::vector<Case> cases = {
      {Language::Python, "@dec\nasync def f(a, *b, c=1, **d) -> int:\n    '''Doc.'''\n    x = [i for i in b if i]\n"
                         "    with open(a) as h, g() as k:\n        yield from h\n    return x[1:2] or {**d}\n"},
      {Language::JavaScript, "export default async function* f(a, {b, ...c}) {\n  for await (const x of a) yield x?.y ?? `t${b}`;\n"
                             "  return class extends B { #p = 1; static m() { return this.#p; } };\n}\n"},
      {Language::Go, "package p\n\nfunc (s *S[T]) F(a ...int) (r int, err error) {\n\tswitch v := any(a).(type) {\n"
                     "\tcase int:\n\t\tr = v\n\t}\n\tgo func() { ch <- 1 }()\n\treturn r, nil\n}\n"},
      {Language::Java, "class A<T> { @Override public <U> U m(final int[] a) throws E {\n  for (var x : a) { if (x > 0) "
                       "break; }\n  return (U) switch (a.length) { case 0 -> null; default -> a; };\n} }\n"},
      {Language::Cpp, "template <class T>\nauto f(T&& x) -> decltype(x) {\n  std::vector<int> v{1, 2};\n"
                      "  for (auto& [a, b] : m) { if constexpr (true) return [&](int y) { return y; }; }\n"
                      "  return static_cast<T&&>(x);\n}\n"},
  };
  for (const auto& c : cases) {
    auto snippets = extract_functions(c.code, c.lang);
    ASSERT_EQ(snippets.size(), 1u) << language_name(c.lang);
    ASSERT_FALSE(snippets[0].has_error) << language_name(c.lang);
    EXPECT_TRUE(check_round_trip(snippets[0].tree, snippets[0].text, language_name(c.lang)));
    SyntaxTree whole = parse(c.code, c.lang);
    EXPECT_TRUE(check_round_trip(whole, c.code, language_name(c.lang)));
  }
}

}  // namespace
