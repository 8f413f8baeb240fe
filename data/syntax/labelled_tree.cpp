#include "data/syntax/labelled_tree.h"

#include <utility>

namespace ps::syntax {

int LabelledTree::add_leaf(int token) {
  LabelledNode n;
  n.token = token;
  nodes.push_back(std::move(n));
  return static_cast<int>(nodes.size()) - 1;
}

int LabelledTree::add_node(const std::string& label, std::vector<int> children) {
  LabelledNode n;
  n.label = label;
  n.children = std::move(children);
  nodes.push_back(std::move(n));
  return static_cast<int>(nodes.size()) - 1;
}

int LabelledTree::num_tokens() const {
  int n = 0;
  for (const auto& x : nodes) n += x.token >= 0;
  return n;
}

std::vector<int> preorder(const LabelledTree& t) {
  std::vector<int> out;
  if (t.root < 0) return out;
  std::vector<int> stack{t.root};
  while (!stack.empty()) {
    int n = stack.back();
    stack.pop_back();
    out.push_back(n);
    const auto& ch = t.nodes[n].children;
    for (auto it = ch.rbegin(); it != ch.rend(); ++it) stack.push_back(*it);
  }
  return out;
}

bool operator==(const LabelledTree& a, const LabelledTree& b) {
  if ((a.root < 0) != (b.root < 0)) return false;
  if (a.root < 0) return true;
  std::vector<std::pair<int, int>> stack{{a.root, b.root}};
  while (!stack.empty()) {
    auto [x, y] = stack.back();
    stack.pop_back();
    const LabelledNode& p = a.nodes[x];
    const LabelledNode& q = b.nodes[y];
    if (p.token != q.token || p.label != q.label || p.children.size() != q.children.size()) return false;
    for (size_t i = 0; i < p.children.size(); ++i) stack.push_back({p.children[i], q.children[i]});
  }
  return true;
}

LabelledTree to_labelled(const SyntaxTree& tree) {
  LabelledTree out;
  if (tree.root < 0) return out;
  out.nodes.reserve(tree.nodes.size());
  int next_token = 0;
  std::vector<std::pair<int, int>> stack{{tree.root, -1}};  // (syntax node, labelled parent)
  while (!stack.empty()) {
    auto [s, par] = stack.back();
    stack.pop_back();
    const SyntaxNode& n = tree.nodes[s];
    int idx = n.children.empty() ? out.add_leaf(next_token++) : out.add_node(n.type, {});
    if (par >= 0) out.nodes[par].children.push_back(idx); else out.root = idx;
    for (auto it = n.children.rbegin(); it != n.children.rend(); ++it) stack.push_back({*it, idx});
  }
  return out;
}

std::vector<CodeToken> code_tokens(const SyntaxTree& tree, const std::string& code) {
  std::vector<CodeToken> out;
  for (int n : tree.terminals()) {
    const SyntaxNode& s = tree.nodes[n];
    uint32_t b = std::min<uint32_t>(s.start_byte, code.size()), e = std::min<uint32_t>(s.end_byte, code.size());
    out.push_back({code.substr(b, e - b), s.start_byte, s.end_byte, n});
  }
  return out;
}

std::vector<Constituent> constituents(const LabelledTree& t) {
  std::vector<int> order = preorder(t);
  std::vector<int> lo(t.nodes.size(), 0), hi(t.nodes.size(), 0);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {  // children before parents
    const LabelledNode& n = t.nodes[*it];
    if (n.token >= 0) {
      lo[*it] = n.token;
      hi[*it] = n.token + 1;
    } else if (!n.children.empty()) {
      lo[*it] = lo[n.children.front()];
      hi[*it] = hi[n.children.back()];
    }
  }
  std::vector<Constituent> out;
  for (int i : order)
    if (t.nodes[i].token < 0 && t.nodes[i].label != kEmpty) out.push_back({t.nodes[i].label, lo[i], hi[i]});
  return out;
}

}  // namespace ps::syntax
