#include "data/syntax/snippets.h"


namespace ps::syntax {

namespace {

bool is_function_type(Language lang, const std::string& t) {
  switch (lang) {
    case Language::Python: return t == "function_definition";
    case Language::JavaScript:
      return t == "function_declaration" || t == "generator_function_declaration" || t == "method_definition";
    case Language::Go: return t == "function_declaration" || t == "method_declaration";
    case Language::Java: return t == "method_declaration" || t == "constructor_declaration";
    case Language::Cpp: return t == "function_definition";
  }
  return false;
}

bool is_js_function_value(const std::string& t) {
  return t == "function_expression" || t == "arrow_function" || t == "generator_function";
}

std::string text_of(const SyntaxTree& tree, int n, const std::string& code) {
  return code.substr(tree.nodes[n].start_byte, tree.nodes[n].end_byte - tree.nodes[n].start_byte);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The name: the first identifier-like child; for C++ the declarator of the function_declarator.
std::string function_name(const SyntaxTree& tree, int fn, Language lang, const std::string& code) {
  if (lang == Language::Cpp) {
    int cur = fn;
    for (int guard = 0; guard < 16; ++guard) {
      int next = -1;
      for (int c : tree.nodes[cur].children) {
        const std::string& t = tree.nodes[c].type;
        if (t == "function_declarator") return text_of(tree, tree.nodes[c].children.at(0), code);
        if (ends_with(t, "_declarator") && next < 0) next = c;
      }
      if (next < 0) break;
      cur = next;  // pointer_declarator, reference_declarator, ... wrap the function_declarator
    }
    return "";
  }
  for (int c : tree.nodes[fn].children) {
    const std::string& t = tree.nodes[c].type;
    if (t == "identifier" || t == "property_identifier" || t == "private_property_identifier" ||
        t == "field_identifier")
      return text_of(tree, c, code);
  }
  return "";
}

}  // namespace

std::vector<Snippet> extract_functions(const std::string& code, Language lang, const SnippetOptions& opt) {
  ParseResult r = try_parse(code, lang, opt.parse);
  if (r.status != ParseStatus::Ok && r.status != ParseStatus::SyntaxError && r.status != ParseStatus::Empty)
    throw ParseError(r.status, r.message);
  std::vector<Snippet> out;
  const SyntaxTree& t = r.tree;
  if (t.root < 0) return out;
  std::vector<int> stack{t.root};
  while (!stack.empty()) {
    int n = stack.back();
    stack.pop_back();
    const SyntaxNode& node = t.nodes[n];
    int fn = -1;
    std::string name;
    if (is_function_type(lang, node.type)) {
      fn = n;
      name = function_name(t, n, lang, r.code);
    } else if (lang == Language::JavaScript && node.type == "variable_declarator" && node.children.size() >= 3 &&
               is_js_function_value(t.nodes[node.children.back()].type)) {
      fn = node.children.back();
      name = text_of(t, node.children.front(), r.code);
    }
    if (fn >= 0) {
      Snippet s;
      s.name = name;
      s.kind = t.nodes[fn].type;
      s.start_byte = t.nodes[fn].start_byte;
      s.end_byte = t.nodes[fn].end_byte;
      s.has_error = t.nodes[fn].has_error;
      s.text = r.code.substr(s.start_byte, s.end_byte - s.start_byte);
      s.tree = subtree(t, fn, s.start_byte);
      out.push_back(std::move(s));
      if (!opt.include_nested) continue;
    }
    for (auto it = node.children.rbegin(); it != node.children.rend(); ++it) stack.push_back(*it);
  }
  return out;
}

}  // namespace ps::syntax
