#include "probes/tree_decode.h"

#include <tuple>

#include "models/util/error.h"

namespace ps::probes {

bool Constituent::operator<(const Constituent& o) const {
  return std::tie(label, begin, end) < std::tie(o.label, o.begin, o.end);
}

std::vector<std::string> split_label(const std::string& label, const std::string& sep) {
  std::vector<std::string> parts;
  if (sep.empty()) return {label};
  size_t start = 0;
  while (true) {
    size_t pos = label.find(sep, start);
    if (pos == std::string::npos) break;
    parts.push_back(label.substr(start, pos - start));
    start = pos + sep.size();
  }
  parts.push_back(label.substr(start));
  return parts;
}

namespace {

struct Builder {
  const std::vector<double>& d;
  const std::vector<int32_t>& c;
  const std::vector<int32_t>& u;
  const DecodeVocab& vocab;
  DecodedTree tree;

  int add(TreeNode n) {
    tree.nodes.push_back(std::move(n));
    return static_cast<int>(tree.nodes.size()) - 1;
  }

  // Wraps `kids` (spanning [b, e]) in the chain for `label`; returns the chain's top node.
  int wrap(const std::string& label, std::vector<int> kids, int b, int e) {
    std::vector<std::string> parts = split_label(label, vocab.sep);
    int below = -1;
    for (size_t k = parts.size(); k-- > 0;) {
      TreeNode n;
      n.label = parts[k];
      n.begin = b;
      n.end = e;
      n.children = below < 0 ? std::move(kids) : std::vector<int>{below};
      below = add(std::move(n));
    }
    return below;
  }

  // Returns the forest spanning leaves [lo, hi]: one node, or several when an <empty> split spliced up.
  std::vector<int> build(int lo, int hi) {
    if (lo == hi) {
      TreeNode leaf;
      leaf.begin = leaf.end = lo;
      leaf.leaf = true;
      int id = add(std::move(leaf));
      if (u[lo] == vocab.u.empty_id) return {id};
      return {wrap(vocab.u.labels[u[lo]], {id}, lo, lo)};
    }
    int split = lo;
    for (int i = lo + 1; i < hi; ++i)
      if (d[i] > d[split]) split = i;  // strict: first index wins ties
    std::vector<int> kids = build(lo, split);
    std::vector<int> right = build(split + 1, hi);
    kids.insert(kids.end(), right.begin(), right.end());
    if (c[split] == vocab.c.empty_id) return kids;
    return {wrap(vocab.c.labels[c[split]], std::move(kids), lo, hi)};
  }
};

}  // namespace

DecodedTree decode_tree(const std::vector<double>& d, const std::vector<int32_t>& c,
                        const std::vector<int32_t>& u, const DecodeVocab& vocab) {
  const size_t n = u.size();
  if (n == 0) throw InputError("decode_tree: empty snippet");
  if (d.size() != n - 1 || c.size() != n - 1)
    throw InputError("decode_tree: |d|=" + std::to_string(d.size()) + ", |c|=" + std::to_string(c.size()) +
                     " but |u|=" + std::to_string(n) + " (need |d|=|c|=|u|-1)");
  for (int32_t id : c)
    if (id < 0 || id >= static_cast<int32_t>(vocab.c.labels.size()))
      throw InputError("decode_tree: c label id " + std::to_string(id) + " outside the c vocabulary");
  for (int32_t id : u)
    if (id < 0 || id >= static_cast<int32_t>(vocab.u.labels.size()))
      throw InputError("decode_tree: u label id " + std::to_string(id) + " outside the u vocabulary");
  Builder b{d, c, u, vocab, {}};
  b.tree.nodes.reserve(4 * n);
  b.tree.roots = b.build(0, static_cast<int>(n) - 1);
  return std::move(b.tree);
}

DecodedTree decode_tree(const DcuPrediction& p, const DecodeVocab& vocab) {
  return decode_tree(p.d, p.c, p.u, vocab);
}

std::vector<Constituent> constituents(const DecodedTree& tree) {
  std::vector<Constituent> out;
  std::vector<int> stack(tree.roots.rbegin(), tree.roots.rend());
  while (!stack.empty()) {
    const TreeNode& n = tree.nodes[stack.back()];
    stack.pop_back();
    if (n.leaf) continue;
    out.push_back({n.label, n.begin, n.end});
    for (auto it = n.children.rbegin(); it != n.children.rend(); ++it) stack.push_back(*it);
  }
  return out;
}

std::vector<Constituent> decode_constituents(const DcuPrediction& p, const DecodeVocab& vocab) {
  return constituents(decode_tree(p, vocab));
}

namespace {
// A token that would break the bracket syntax ("(", ")", quotes, spaces, empty) is written as a
// "double-quoted" string with \" and \\ escapes: what plot::parse_bracket reads back.
void append_leaf(const std::string& token, std::string& out) {
  const bool plain = !token.empty() && token.find_first_of("()\" \t\r\n\\") == std::string::npos;
  if (plain) {
    out += token;
    return;
  }
  out += '"';
  for (char ch : token) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  out += '"';
}

void bracket(const DecodedTree& t, int id, const std::vector<std::string>* tokens, std::string& out) {
  const TreeNode& n = t.nodes[id];
  if (n.leaf) {
    if (tokens && n.begin < static_cast<int>(tokens->size())) append_leaf((*tokens)[n.begin], out);
    else out += std::to_string(n.begin);
    return;
  }
  out += "(" + n.label;
  for (int k : n.children) {
    out += ' ';
    bracket(t, k, tokens, out);
  }
  out += ')';
}
}  // namespace

std::string to_bracket(const DecodedTree& tree, const std::vector<std::string>* tokens) {
  std::string out;
  for (size_t r = 0; r < tree.roots.size(); ++r) {
    if (r) out += ' ';
    bracket(tree, tree.roots[r], tokens, out);
  }
  return out;
}

DcuPrediction gold_as_prediction(const ProbeSample& s) {
  DcuPrediction p;
  p.d.assign(s.d.begin(), s.d.end());
  p.c = s.c;
  p.u = s.u;
  return p;
}

}  // namespace ps::probes
