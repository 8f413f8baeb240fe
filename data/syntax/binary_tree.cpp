#include "data/syntax/binary_tree.h"

namespace ps::syntax {

BinaryTree binarize(const LabelledTree& t) {
  BinaryTree out;
  if (t.root < 0) return out;
  out.nodes.emplace_back();
  out.root = 0;
  // Each task fills the already-allocated binary node `slot` with the binarization of labelled node `src`.
  std::vector<std::pair<int, int>> stack{{t.root, 0}};
  while (!stack.empty()) {
    auto [src, slot] = stack.back();
    stack.pop_back();
    if (t.is_leaf(src)) {
      out.nodes[slot].token = t.nodes[src].token;
      continue;
    }
    // Rule 1: follow the unary chain over non-terminals.
    std::string label = t.nodes[src].label;
    int cur = src;
    for (;;) {
      const auto& ch = t.nodes[cur].children;
      if (ch.empty()) throw InputError("binarize: internal node '" + t.nodes[cur].label + "' has no children");
      if (ch.size() != 1 || t.is_leaf(ch[0])) break;
      cur = ch[0];
      label += kSep + t.nodes[cur].label;
    }
    const auto& ch = t.nodes[cur].children;
    if (ch.size() == 1) {  // Rule 2: the chain sits on a single leaf.
      out.nodes[slot].token = t.nodes[ch[0]].token;
      out.nodes[slot].unary = label;
      continue;
    }
    // Rules 3-4: P(a, <empty>(b, <empty>(c, d))) — right-branching, children kept in source order.
    out.nodes[slot].label = label;
    int parent = slot;
    for (size_t i = 0; i < ch.size(); ++i) {
      int child = static_cast<int>(out.nodes.size());
      out.nodes.emplace_back();
      stack.push_back({ch[i], child});
      if (i == 0) {
        out.nodes[parent].left = child;
      } else if (i + 1 == ch.size()) {
        out.nodes[parent].right = child;
      } else {
        // Child i goes left under a new <empty> node hanging on the right of the current parent.
        int e = static_cast<int>(out.nodes.size());
        out.nodes.emplace_back();
        out.nodes[e].label = kEmpty;
        out.nodes[parent].right = e;
        out.nodes[e].left = child;
        parent = e;
      }
    }
  }
  return out;
}

namespace {
std::vector<std::string> split_sep(const std::string& label) {
  std::vector<std::string> parts;
  size_t pos = 0;
  for (;;) {
    size_t k = label.find(kSep, pos);
    parts.push_back(label.substr(pos, k == std::string::npos ? std::string::npos : k - pos));
    if (k == std::string::npos) break;
    pos = k + kSep.size();
  }
  return parts;
}
}  // namespace

LabelledTree unbinarize(const BinaryTree& b) {
  LabelledTree out;
  if (b.root < 0) return out;
  auto transparent = [&](int i) { return !b.is_leaf(i) && b.nodes[i].label == kEmpty; };
  // Non-<empty> nodes reachable from i through <empty> nodes, in order.
  auto visible_children = [&](int i) {
    std::vector<int> kids, stack{b.nodes[i].right, b.nodes[i].left};
    while (!stack.empty()) {
      int n = stack.back();
      stack.pop_back();
      if (n < 0) throw InputError("unbinarize: internal node without two children");
      if (transparent(n)) {
        stack.push_back(b.nodes[n].right);
        stack.push_back(b.nodes[n].left);
      } else {
        kids.push_back(n);
      }
    }
    return kids;
  };
  // Builds the chain for binary node i; returns (top labelled node, innermost node that takes the children).
  auto make = [&](int i) -> std::pair<int, int> {
    const BinaryNode& n = b.nodes[i];
    int bottom = n.token >= 0 ? out.add_leaf(n.token) : -1;
    std::string chain = n.token >= 0 ? n.unary : n.label;
    if (n.token >= 0 && chain == kEmpty) return {bottom, bottom};
    auto parts = split_sep(chain);
    int top = -1, inner = -1;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
      int node = out.add_node(*it, {});
      if (inner < 0) inner = node;
      if (top >= 0) out.nodes[node].children.push_back(top);
      else if (bottom >= 0) out.nodes[node].children.push_back(bottom);
      top = node;
    }
    return {top, n.token >= 0 ? bottom : inner};
  };
  std::vector<std::pair<int, int>> stack;  // (binary node, labelled node taking its visible children)
  if (transparent(b.root)) {
    out.root = out.add_node(kEmpty, {});
    stack.push_back({b.root, out.root});
  } else {
    auto [top, inner] = make(b.root);
    out.root = top;
    if (!b.is_leaf(b.root)) stack.push_back({b.root, inner});
  }
  while (!stack.empty()) {
    auto [bi, li] = stack.back();
    stack.pop_back();
    for (int k : visible_children(bi)) {
      auto [top, inner] = make(k);
      out.nodes[li].children.push_back(top);
      if (!b.is_leaf(k)) stack.push_back({k, inner});
    }
  }
  return out;
}

}  // namespace ps::syntax
