#include "data/syntax/parse.h"

#include <tree_sitter/api.h>

#include <algorithm>
#include <memory>

#include "data/syntax/comments.h"

extern "C" {
const TSLanguage* tree_sitter_python(void);
const TSLanguage* tree_sitter_javascript(void);
const TSLanguage* tree_sitter_go(void);
const TSLanguage* tree_sitter_java(void);
const TSLanguage* tree_sitter_cpp(void);
}

namespace ps::syntax {

Language language_from_name(const std::string& name) {
  if (name == "python") return Language::Python;
  if (name == "javascript" || name == "js") return Language::JavaScript;
  if (name == "go") return Language::Go;
  if (name == "java") return Language::Java;
  if (name == "cpp" || name == "c++") return Language::Cpp;
  throw InputError("language: unknown language '" + name + "' (expected python, javascript, go, java or cpp)");
}

std::optional<Language> language_from_extension(const std::string& path_or_ext) {
  auto dot = path_or_ext.rfind('.');
  auto slash = path_or_ext.rfind('/');
  if (dot == std::string::npos && slash != std::string::npos) return std::nullopt;  // "dir/java": no extension
  if (dot != std::string::npos && slash != std::string::npos && slash > dot) return std::nullopt;
  std::string ext = dot == std::string::npos ? path_or_ext : path_or_ext.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == "py") return Language::Python;
  if (ext == "js" || ext == "mjs" || ext == "cjs" || ext == "jsx") return Language::JavaScript;
  if (ext == "go") return Language::Go;
  if (ext == "java") return Language::Java;
  if (ext == "cc" || ext == "cpp" || ext == "cxx" || ext == "hpp" || ext == "hh" || ext == "hxx" || ext == "h" ||
      ext == "tcc")
    return Language::Cpp;
  return std::nullopt;
}

const char* language_name(Language lang) {
  switch (lang) {
    case Language::Python: return "python";
    case Language::JavaScript: return "javascript";
    case Language::Go: return "go";
    case Language::Java: return "java";
    case Language::Cpp: return "cpp";
  }
  return "?";
}

const TSLanguage* ts_language(Language lang) {
  const TSLanguage* l = nullptr;
  switch (lang) {
    case Language::Python: l = tree_sitter_python(); break;
    case Language::JavaScript: l = tree_sitter_javascript(); break;
    case Language::Go: l = tree_sitter_go(); break;
    case Language::Java: l = tree_sitter_java(); break;
    case Language::Cpp: l = tree_sitter_cpp(); break;
  }
  uint32_t v = ts_language_version(l);
  if (v < TREE_SITTER_MIN_COMPATIBLE_LANGUAGE_VERSION || v > TREE_SITTER_LANGUAGE_VERSION)
    throw RuntimeError(std::string("tree-sitter: grammar ") + language_name(lang) + " has ABI " + std::to_string(v) +
                       ", runtime accepts " + std::to_string(TREE_SITTER_MIN_COMPATIBLE_LANGUAGE_VERSION) + ".." +
                       std::to_string(TREE_SITTER_LANGUAGE_VERSION) + " (run script/bootstrap for the 0.23 grammars)");
  return l;
}

std::vector<int> SyntaxTree::terminals() const {
  std::vector<int> out;
  if (root < 0) return out;
  std::vector<int> stack{root};
  while (!stack.empty()) {
    int n = stack.back();
    stack.pop_back();
    const auto& ch = nodes[n].children;
    if (ch.empty()) out.push_back(n);
    for (auto it = ch.rbegin(); it != ch.rend(); ++it) stack.push_back(*it);
  }
  return out;
}

bool is_comment_type(const std::string& type) {
  return type == "comment" || (type.size() > 8 && type.compare(type.size() - 8, 8, "_comment") == 0);
}

bool is_string_literal_type(const std::string& type) {
  return type == "string" || type.find("string_literal") != std::string::npos || type == "template_string" ||
         type == "char_literal";
}

namespace {

struct TreeDeleter {
  void operator()(TSTree* t) const { ts_tree_delete(t); }
};
struct ParserDeleter {
  void operator()(TSParser* p) const { ts_parser_delete(p); }
};
using TreePtr = std::unique_ptr<TSTree, TreeDeleter>;

// Returns the byte offset of the first invalid UTF-8 sequence, or npos.
size_t invalid_utf8_at(const std::string& s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = s[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > n) return i;
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return i;
    if (len == 2 && c < 0xC2) return i;  // overlong
    i += len;
  }
  return std::string::npos;
}

TreePtr ts_parse(TSParser* parser, const std::string& code) {
  ts_parser_reset(parser);
  return TreePtr(ts_parser_parse_string(parser, nullptr, code.data(), static_cast<uint32_t>(code.size())));
}

// Pre-order copy of the Tree-sitter tree; false when deeper than max_depth.
bool convert(TSNode root, int max_depth, SyntaxTree& out) {
  out.nodes.clear();
  TSTreeCursor cur = ts_tree_cursor_new(root);
  std::vector<int> path;  // indices of the ancestors of the cursor's node
  bool ok = true;
  for (;;) {
    TSNode n = ts_tree_cursor_current_node(&cur);
    SyntaxNode sn;
    sn.type = ts_node_type(n);
    sn.named = ts_node_is_named(n);
    sn.start_byte = ts_node_start_byte(n);
    sn.end_byte = ts_node_end_byte(n);
    sn.has_error = ts_node_has_error(n) || ts_node_is_missing(n);
    sn.parent = path.empty() ? -1 : path.back();
    int idx = static_cast<int>(out.nodes.size());
    if (sn.parent >= 0) out.nodes[sn.parent].children.push_back(idx);
    out.nodes.push_back(std::move(sn));
    if (ts_tree_cursor_goto_first_child(&cur)) {
      path.push_back(idx);
      if (static_cast<int>(path.size()) > max_depth) { ok = false; break; }
      continue;
    }
    while (!ts_tree_cursor_goto_next_sibling(&cur)) {
      if (path.empty() || !ts_tree_cursor_goto_parent(&cur)) { path.clear(); break; }
      path.pop_back();
      if (path.empty()) break;
    }
    if (path.empty()) break;
  }
  ts_tree_cursor_delete(&cur);
  out.root = out.nodes.empty() ? -1 : 0;
  return ok;
}

std::string first_error(const SyntaxTree& t, const std::string& code) {
  int n = t.root;
  // Descend to the deepest first erroneous node.
  for (bool moved = true; moved;) {
    moved = false;
    for (int c : t.nodes[n].children)
      if (t.nodes[c].has_error) { n = c; moved = true; break; }
  }
  uint32_t at = t.nodes[n].start_byte;
  size_t line = 1 + std::count(code.begin(), code.begin() + std::min<size_t>(at, code.size()), '\n');
  size_t bol = code.rfind('\n', at == 0 ? 0 : at - 1);
  size_t col = at - (bol == std::string::npos || at == 0 ? 0 : bol + 1) + 1;
  bool missing = t.nodes[n].type != "ERROR" && t.nodes[n].start_byte == t.nodes[n].end_byte;
  return "line " + std::to_string(line) + ":" + std::to_string(col) + ": syntax error (" +
         (missing ? "missing " + t.nodes[n].type : std::string("unexpected input")) + ")";
}

}  // namespace

ParseResult try_parse(const std::string& code, Language lang, const ParseOptions& opt) {
  ParseResult r;
  auto fail = [&](ParseStatus s, const std::string& problem) {
    r.status = s;
    r.message = where(opt.source_name, problem);
    return r;
  };
  if (code.size() > opt.max_bytes)
    return fail(ParseStatus::TooLarge, "input is " + std::to_string(code.size()) + " bytes, over the limit of " +
                                           std::to_string(opt.max_bytes));
  size_t bad = invalid_utf8_at(code);
  if (bad != std::string::npos) return fail(ParseStatus::BadEncoding, "byte " + std::to_string(bad) + ": invalid UTF-8");

  std::unique_ptr<TSParser, ParserDeleter> parser(ts_parser_new());
  ts_parser_set_language(parser.get(), ts_language(lang));
  ts_parser_set_timeout_micros(parser.get(), opt.timeout_micros);
  auto timeout_msg = "parse timed out after " + std::to_string(opt.timeout_micros / 1000) + " ms";

  r.code = code;
  for (int pass = 0; pass < 2; ++pass) {
    TreePtr tree = ts_parse(parser.get(), r.code);
    if (!tree) return fail(ParseStatus::Timeout, timeout_msg);
    if (!convert(ts_tree_root_node(tree.get()), opt.max_depth, r.tree))
      return fail(ParseStatus::TooDeep, "syntax tree deeper than " + std::to_string(opt.max_depth) + " levels");
    if (pass == 1 || !opt.remove_comments) break;
    // Comments are removed before parsing: blank them and parse the clean text (offsets unchanged).
    auto spans = removal_spans(r.tree, lang, opt.remove_docstrings);
    if (spans.empty()) break;
    r.code = blank_spans(r.code, spans);
  }
  if (opt.collapse_strings || opt.drop_zero_width) r.tree = normalize(r.tree, opt.collapse_strings, opt.drop_zero_width);
  if (r.tree.nodes[r.tree.root].has_error) return fail(ParseStatus::SyntaxError, first_error(r.tree, r.code));
  if (r.tree.terminal(r.tree.root)) return fail(ParseStatus::Empty, "no code (empty after removing comments)");
  return r;
}

SyntaxTree parse(const std::string& code, Language lang, const ParseOptions& opt) {
  ParseResult r = try_parse(code, lang, opt);
  if (!r.ok()) throw ParseError(r.status, r.message);
  return std::move(r.tree);
}

namespace {
// Pre-order copy of the subtree at `node`; `keep_children(i)` false makes i a terminal in the copy.
template <class Keep, class Drop>
SyntaxTree copy_subtree(const SyntaxTree& t, int node, uint32_t shift, Keep keep_children, Drop drop) {
  SyntaxTree out;
  std::vector<std::pair<int, int>> stack{{node, -1}};  // (source index, parent in copy)
  while (!stack.empty()) {
    auto [src, par] = stack.back();
    stack.pop_back();
    SyntaxNode n = t.nodes[src];
    n.children.clear();
    n.parent = par;
    n.start_byte -= shift;
    n.end_byte -= shift;
    int idx = static_cast<int>(out.nodes.size());
    if (par >= 0) out.nodes[par].children.push_back(idx);
    out.nodes.push_back(std::move(n));
    if (keep_children(src)) {
      const auto& ch = t.nodes[src].children;
      for (auto it = ch.rbegin(); it != ch.rend(); ++it)
        if (!drop(*it)) stack.push_back({*it, idx});
    }
  }
  out.root = out.nodes.empty() ? -1 : 0;
  return out;
}
}  // namespace

SyntaxTree subtree(const SyntaxTree& tree, int node, uint32_t offset_shift) {
  return copy_subtree(tree, node, offset_shift, [](int) { return true; }, [](int) { return false; });
}

SyntaxTree normalize(const SyntaxTree& tree, bool collapse, bool drop_zero_width) {
  if (tree.root < 0) return tree;
  return copy_subtree(
      tree, tree.root, 0, [&](int i) { return !collapse || !is_string_literal_type(tree.nodes[i].type); },
      [&](int i) {
        const SyntaxNode& n = tree.nodes[i];
        return drop_zero_width && n.start_byte == n.end_byte && !n.has_error;  // MISSING nodes stay: errors
      });
}

}  // namespace ps::syntax
