#include "data/syntax/tree_text.h"

#include <algorithm>
#include <cstdio>

namespace ps::syntax {

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

namespace {
std::string token_text(const std::vector<std::string>& tokens, int i) {
  return i < static_cast<int>(tokens.size()) ? quote(tokens[i]) : std::to_string(i);
}

// An indented s-expression, one node a line and ")" after a node's last child. `line(node, out)`
// appends the node's own text and returns its children (none for a leaf): both tree types share the walk.
template <class Line>
std::string indented(int root, Line&& line) {
  std::string out;
  if (root < 0) return out;
  struct Item { int node, depth; bool close; };
  std::vector<Item> stack{{root, 0, false}};
  while (!stack.empty()) {
    const Item it = stack.back();
    stack.pop_back();
    if (it.close) {
      out += ")";
      continue;
    }
    if (it.node != root) out += "\n";
    out += std::string(2 * it.depth, ' ');
    const std::vector<int> children = line(it.node, out);
    if (children.empty()) continue;
    stack.push_back({it.node, it.depth, true});
    for (auto c = children.rbegin(); c != children.rend(); ++c) stack.push_back({*c, it.depth + 1, false});
  }
  return out + "\n";
}

}  // namespace

std::string render_ast(const SyntaxTree& tree, const std::string& code) {
  return indented(tree.root, [&](int node, std::string& out) -> std::vector<int> {
    const SyntaxNode& n = tree.nodes[node];
    if (n.children.empty()) {
      std::string text = code.substr(std::min<size_t>(n.start_byte, code.size()),
                                     n.end_byte > n.start_byte ? n.end_byte - n.start_byte : 0);
      out += n.named ? n.type + " " + quote(text) : quote(text);
      return {};
    }
    out += "(" + n.type;
    return n.children;
  });
}

std::string render_binary(const BinaryTree& tree, const std::vector<std::string>& tokens) {
  return indented(tree.root, [&](int node, std::string& out) -> std::vector<int> {
    const BinaryNode& n = tree.nodes[node];
    if (n.token >= 0) {
      out += token_text(tokens, n.token);
      if (n.unary != kEmpty) out += " [" + n.unary + "]";
      return {};
    }
    out += "(" + n.label;
    return {n.left, n.right};
  });
}

std::string render_dcu(const Dcu& dcu, const std::vector<std::string>& tokens) {
  std::string out;
  if (!tokens.empty()) {
    out += "tokens:";
    for (const auto& t : tokens) out += " " + quote(t);
    out += "\n";
  }
  out += "d:";
  for (int d : dcu.d) out += " " + std::to_string(d);
  out += "\nc:";
  for (const auto& c : dcu.c) out += " " + c;
  out += "\nu:";
  for (const auto& u : dcu.u) out += " " + u;
  return out + "\n";
}

std::string render_labelled(const LabelledTree& tree, const std::vector<std::string>& tokens) {
  std::string out;
  if (tree.root < 0) return out;
  struct Item { int node; bool close; };
  std::vector<Item> stack{{tree.root, false}};
  bool first = true;
  while (!stack.empty()) {
    Item it = stack.back();
    stack.pop_back();
    if (it.close) {
      out += ")";
      continue;
    }
    if (!first) out += " ";
    first = false;
    const LabelledNode& n = tree.nodes[it.node];
    if (n.token >= 0) {
      out += token_text(tokens, n.token);
      continue;
    }
    out += "(" + n.label;
    stack.push_back({it.node, true});
    for (auto c = n.children.rbegin(); c != n.children.rend(); ++c) stack.push_back({*c, false});
  }
  return out;
}

}  // namespace ps::syntax
