#include "data/syntax/comments.h"

namespace ps::syntax {

std::string blank_spans(const std::string& code, const std::vector<ByteSpan>& spans) {
  std::string out = code;
  for (const auto& s : spans)
    for (uint32_t i = s.start; i < s.end && i < out.size(); ++i)
      if (out[i] != '\n') out[i] = ' ';
  return out;
}

namespace {
bool is_docstring(const SyntaxTree& t, int i) {
  const SyntaxNode& n = t.nodes[i];
  if (n.type != "expression_statement" || n.children.size() != 1) return false;
  const std::string& c = t.nodes[n.children[0]].type;
  if (c != "string" && c != "concatenated_string") return false;
  if (n.parent < 0 || t.nodes[n.parent].type != "block") return true;
  // Keep the only statement of a block: blanking it would leave an unparsable empty body.
  int statements = 0;
  for (int s : t.nodes[n.parent].children)
    if (!is_comment_type(t.nodes[s].type)) ++statements;
  return statements > 1;
}
}  // namespace

std::vector<ByteSpan> removal_spans(const SyntaxTree& tree, Language lang, bool remove_docstrings) {
  std::vector<ByteSpan> spans;
  bool docs = remove_docstrings && lang == Language::Python;
  for (int i = 0; i < static_cast<int>(tree.nodes.size()); ++i) {
    const SyntaxNode& n = tree.nodes[i];
    if (is_comment_type(n.type) || (docs && is_docstring(tree, i))) spans.push_back({n.start_byte, n.end_byte});
  }
  return spans;
}

std::string strip_comments(const std::string& code, Language lang, bool remove_docstrings) {
  ParseOptions opt;
  opt.remove_comments = false;
  opt.collapse_strings = false;
  opt.max_bytes = code.size();
  ParseResult r = try_parse(code, lang, opt);
  if (r.tree.root < 0) return code;  // unparsable (timeout, depth): nothing is known to be a comment
  return blank_spans(code, removal_spans(r.tree, lang, remove_docstrings));
}

}  // namespace ps::syntax
