#include "analysis/plot/trees.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "models/util/error.h"

namespace ps::plot {

namespace {

std::string leaf_text(int k, const std::vector<std::string>& tokens) {
  return k >= 0 && k < int(tokens.size()) ? tokens[size_t(k)] : std::to_string(k);
}

// Parents before children, iteratively (trees from real code can be deep).
std::vector<int> preorder(const PlotTree& t) {
  std::vector<int> out, stack(t.roots.rbegin(), t.roots.rend());
  while (!stack.empty()) {
    const int i = stack.back();
    stack.pop_back();
    out.push_back(i);
    const auto& ch = t.nodes[size_t(i)].children;
    for (auto it = ch.rbegin(); it != ch.rend(); ++it) stack.push_back(*it);
  }
  return out;
}

// Internal spans from the leaves: [min begin, max end) over the children, children first.
void compute_spans(PlotTree& t) {
  const auto order = preorder(t);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    PlotTreeNode& n = t.nodes[size_t(*it)];
    if (n.leaf) {
      n.end = n.begin + 1;
      continue;
    }
    if (n.children.empty()) throw InputError("tree: internal node '" + n.label + "' has no children");
    n.begin = t.nodes[size_t(n.children.front())].begin;
    n.end = t.nodes[size_t(n.children.front())].end;
    for (int c : n.children) {
      n.begin = std::min(n.begin, t.nodes[size_t(c)].begin);
      n.end = std::max(n.end, t.nodes[size_t(c)].end);
    }
  }
}

std::string key(const PlotTreeNode& n) { return n.label + '\x1f' + std::to_string(n.begin) + ':' + std::to_string(n.end); }

void mark_matches(PlotTree& a, const PlotTree& b) {
  std::map<std::string, int> avail;
  for (const auto& n : b.nodes)
    if (!n.leaf) ++avail[key(n)];
  for (int i : preorder(a)) {
    PlotTreeNode& n = a.nodes[size_t(i)];
    if (n.leaf) continue;
    int& left = avail[key(n)];
    n.matched = left > 0;
    if (left > 0) --left;
  }
}

int max_internal_depth(PlotTree& t) {
  int deepest = 0;
  for (int r : t.roots) t.nodes[size_t(r)].depth = 0;
  for (int i : preorder(t)) {
    for (int c : t.nodes[size_t(i)].children) t.nodes[size_t(c)].depth = t.nodes[size_t(i)].depth + 1;
    if (!t.nodes[size_t(i)].leaf) deepest = std::max(deepest, t.nodes[size_t(i)].depth);
  }
  return deepest;
}

void place(PlotTree& t, int leaf_row) {
  const auto order = preorder(t);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    PlotTreeNode& n = t.nodes[size_t(*it)];
    if (n.leaf) {
      n.x = n.begin;
      n.depth = leaf_row;
    } else {
      n.x = 0.5 * (t.nodes[size_t(n.children.front())].x + t.nodes[size_t(n.children.back())].x);
    }
  }
}

}  // namespace

PlotTree plot_tree(std::vector<PlotTreeNode> nodes, std::vector<int> roots, const std::vector<std::string>& tokens) {
  PlotTree t;
  t.nodes = std::move(nodes);
  t.roots = std::move(roots);
  for (auto& n : t.nodes)
    if (n.leaf) n.label = leaf_text(n.begin, tokens);
  compute_spans(t);
  return t;
}

PlotTree parse_bracket(const std::string& text, const std::string& source, const std::vector<std::string>& tokens) {
  PlotTree t;
  size_t i = 0;
  int leaves = 0;
  const auto fail = [&](const std::string& what) {
    return InputError(where(source, "bracket tree, offset " + std::to_string(i) + ": " + what));
  };
  const auto skip_space = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  const auto atom = [&]() -> std::string {
    std::string s;
    if (text[i] == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        s += text[i];
      }
      if (i >= text.size()) throw fail("unterminated quoted leaf");
      ++i;
      return s;
    }
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])) && text[i] != '(' && text[i] != ')')
      s += text[i++];
    return s;
  };
  // Explicit stack of open nodes: deep trees need no recursion.
  std::vector<int> open;
  auto attach = [&](int id) {
    if (open.empty())
      t.roots.push_back(id);
    else
      t.nodes[size_t(open.back())].children.push_back(id);
  };
  for (skip_space(); i < text.size(); skip_space()) {
    if (text[i] == '(') {
      ++i;
      skip_space();
      if (i >= text.size() || text[i] == '(' || text[i] == ')') throw fail("a node needs a label after '('");
      PlotTreeNode n;
      n.label = atom();
      t.nodes.push_back(std::move(n));
      attach(int(t.nodes.size() - 1));
      open.push_back(int(t.nodes.size() - 1));
    } else if (text[i] == ')') {
      if (open.empty()) throw fail("unbalanced ')'");
      if (t.nodes[size_t(open.back())].children.empty()) throw fail("node '" + t.nodes[size_t(open.back())].label + "' has no children");
      open.pop_back();
      ++i;
    } else {
      PlotTreeNode n;
      n.leaf = true;
      n.label = atom();
      n.begin = leaves++;
      t.nodes.push_back(std::move(n));
      attach(int(t.nodes.size() - 1));
    }
  }
  if (!open.empty()) throw fail("missing ')' for node '" + t.nodes[size_t(open.back())].label + "'");
  if (t.roots.empty()) throw InputError(where(source, "bracket tree is empty"));
  bool indices = !tokens.empty();
  for (const auto& n : t.nodes)
    if (n.leaf && n.label != std::to_string(n.begin)) indices = false;
  if (indices)
    for (auto& n : t.nodes)
      if (n.leaf) n.label = leaf_text(n.begin, tokens);
  compute_spans(t);
  return t;
}

int num_leaves(const PlotTree& t) {
  return int(std::count_if(t.nodes.begin(), t.nodes.end(), [](const auto& n) { return n.leaf; }));
}

TreePair tree_pair(PlotTree gold, PlotTree predicted, const std::string& title) {
  const int ng = num_leaves(gold), np = num_leaves(predicted);
  if (ng != np)
    throw InputError("tree pair: the gold tree has " + std::to_string(ng) + " leaves, the recovered tree " +
                     std::to_string(np) + " (both must cover the same tokens)");
  if (ng == 0) throw InputError("tree pair: the trees have no leaves");
  TreePair p;
  p.title = title;
  mark_matches(gold, predicted);
  mark_matches(predicted, gold);
  const int leaf_row = std::max(max_internal_depth(gold), max_internal_depth(predicted)) + 1;
  place(gold, leaf_row);
  place(predicted, leaf_row);
  p.gold = std::move(gold);
  p.predicted = std::move(predicted);
  return p;
}

TreeScores tree_scores(const TreePair& p) {
  TreeScores s;
  for (const auto& n : p.gold.nodes)
    if (!n.leaf) ++s.gold, s.matched += n.matched ? 1 : 0;
  for (const auto& n : p.predicted.nodes)
    if (!n.leaf) ++s.predicted;
  return s;
}

int tree_rows(const TreePair& p) {
  int rows = 1;
  for (const auto* t : {&p.gold, &p.predicted})
    for (const auto& n : t->nodes) rows = std::max(rows, n.depth + 1);
  return rows;
}

TreeArrangement resolve_arrangement(const TreePair& p, double width_inches) {
  if (p.arrangement != TreeArrangement::automatic) return p.arrangement;
  const int leaves = std::max(num_leaves(p.gold), num_leaves(p.predicted));
  return 2 * leaves * 0.3 + 0.3 <= width_inches ? TreeArrangement::side_by_side : TreeArrangement::stacked;
}

}  // namespace ps::plot
