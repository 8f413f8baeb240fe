#pragma once
// Function-level snippets: each is the subtree of a function node of the whole file's parse.
#include <string>
#include <vector>

#include "data/syntax/parse.h"

namespace ps::syntax {

// Function node types: Python function_definition; JavaScript function_declaration,
// generator_function_declaration, method_definition, and function_expression/arrow_function/generator_function
// bound by a variable_declarator (named after the variable); Go function_declaration, method_declaration;
// Java method_declaration, constructor_declaration; C++ function_definition.
struct Snippet {
  std::string name;                  // the function's name as written ("" if none found)
  std::string kind;                  // the node type
  uint32_t start_byte = 0, end_byte = 0;  // span in the file
  bool has_error = false;            // the subtree has ERROR/MISSING nodes: report and skip it
  std::string text;                  // the file's clean text (comments/docstrings blanked) over the span
  SyntaxTree tree;                   // the function's subtree; byte offsets relative to `text`
};

struct SnippetOptions {
  ParseOptions parse;
  bool include_nested = false;  // also functions inside functions (methods inside classes are not "nested")
};

// Parses the whole file (comments removed, strings collapsed) and returns its functions in source order.
// A file-level syntax error does not stop extraction: functions whose subtree is clean are still usable.
// Throws ParseError for TooLarge/Timeout/TooDeep/BadEncoding.
std::vector<Snippet> extract_functions(const std::string& code, Language lang, const SnippetOptions& opt = {});

}  // namespace ps::syntax
