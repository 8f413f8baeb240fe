#pragma once
// Text forms of syntax trees (AST, binary tree, (d,c,u), labelled tree) for `probescope parse FILE`.
#include <string>

#include "data/syntax/binary_tree.h"
#include "data/syntax/dcu.h"
#include "data/syntax/parse.h"

namespace ps::syntax {

// Indented s-expression of the AST: one node per line, "(type" for non-terminals, terminals as
// `type "text"` (anonymous terminals show just their quoted text).
std::string render_ast(const SyntaxTree& tree, const std::string& code);
// Indented binary tree: internal "(label", leaves `"text" [unary]`; text from `tokens` when given.
std::string render_binary(const BinaryTree& tree, const std::vector<std::string>& tokens = {});
// One line each: "d: 2 1 3", "c: ...", "u: ...", and the tokens when given.
std::string render_dcu(const Dcu& dcu, const std::vector<std::string>& tokens = {});
// Single-line bracketed form of a labelled tree: (block (expression_statement (assignment 0 1 2)) ...).
std::string render_labelled(const LabelledTree& tree, const std::vector<std::string>& tokens = {});

// A token's text escaped for display (quotes, backslashes, control characters).
std::string quote(const std::string& s);

}  // namespace ps::syntax
