#include "data/syntax/dcu.h"

#include <nlohmann/json.hpp>

namespace ps::syntax {

Dcu tree_to_dcu(const BinaryTree& t) {
  Dcu out;
  if (t.root < 0) return out;
  // Heights bottom-up (post-order via reversed pre-order), then an in-order walk emits d, c and u.
  std::vector<int> order, stack{t.root}, h(t.nodes.size(), 0);
  while (!stack.empty()) {
    int n = stack.back();
    stack.pop_back();
    order.push_back(n);
    if (!t.is_leaf(n)) {
      if (t.nodes[n].left < 0 || t.nodes[n].right < 0) throw InputError("tree_to_dcu: internal node without two children");
      stack.push_back(t.nodes[n].left);
      stack.push_back(t.nodes[n].right);
    }
  }
  for (auto it = order.rbegin(); it != order.rend(); ++it)
    if (!t.is_leaf(*it)) h[*it] = std::max(h[t.nodes[*it].left], h[t.nodes[*it].right]) + 1;
  int cur = t.root;
  stack.clear();
  while (cur >= 0 || !stack.empty()) {
    while (cur >= 0 && !t.is_leaf(cur)) {
      stack.push_back(cur);
      cur = t.nodes[cur].left;
    }
    if (cur >= 0) {  // a leaf
      out.u.push_back(t.nodes[cur].unary);
      cur = -1;
      continue;
    }
    int n = stack.back();
    stack.pop_back();
    out.d.push_back(h[n]);
    out.c.push_back(t.nodes[n].label);
    cur = t.nodes[n].right;
  }
  return out;
}

BinaryTree dcu_to_binary(const Dcu& dcu) {
  size_t n = dcu.d.size();
  if (dcu.c.size() != n || dcu.u.size() != n + 1)
    throw InputError("dcu: sizes |d|=" + std::to_string(n) + " |c|=" + std::to_string(dcu.c.size()) +
                     " |u|=" + std::to_string(dcu.u.size()) + " (need |c| = |d| and |u| = |d| + 1)");
  // Cartesian tree over d (max at the top): equal to splitting at the first argmax recursively.
  // Internal node i is nodes[i]; leaf j is nodes[n + j].
  BinaryTree t;
  t.nodes.resize(2 * n + 1);
  std::vector<int> left(n, -1), right(n, -1), stack;
  for (size_t i = 0; i < n; ++i) {
    int last = -1;
    while (!stack.empty() && dcu.d[stack.back()] < dcu.d[i]) {
      last = stack.back();
      stack.pop_back();
    }
    left[i] = last;
    if (!stack.empty()) right[stack.back()] = static_cast<int>(i);
    stack.push_back(static_cast<int>(i));
  }
  for (size_t i = 0; i < n; ++i) {
    t.nodes[i].label = dcu.c[i];
    t.nodes[i].unary.clear();
    t.nodes[i].left = left[i] >= 0 ? left[i] : static_cast<int>(n + i);
    t.nodes[i].right = right[i] >= 0 ? right[i] : static_cast<int>(n + i + 1);
  }
  for (size_t j = 0; j <= n; ++j) {
    t.nodes[n + j].token = static_cast<int>(j);
    t.nodes[n + j].unary = dcu.u[j];
  }
  t.root = n == 0 ? 0 : stack.front();
  return t;
}

LabelledTree dcu_to_tree(const Dcu& dcu) { return unbinarize(dcu_to_binary(dcu)); }

Dcu ast_to_dcu(const SyntaxTree& tree) { return tree_to_dcu(binarize(to_labelled(tree))); }

LabelVocab::LabelVocab() {
  add(kEmpty);
  add("<unk>");
}

int LabelVocab::add(const std::string& label) {
  auto it = ids_.find(label);
  if (it != ids_.end()) return it->second;
  int id = static_cast<int>(labels_.size());
  labels_.push_back(label);
  ids_.emplace(label, id);
  return id;
}

std::optional<int> LabelVocab::find(const std::string& label) const {
  auto it = ids_.find(label);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

int LabelVocab::id_or_unk(const std::string& label) const { return find(label).value_or(kUnkId); }

const std::string& LabelVocab::label(int id) const {
  if (id < 0 || id >= static_cast<int>(labels_.size()))
    throw InputError("label vocabulary: id " + std::to_string(id) + " out of range (size " +
                     std::to_string(labels_.size()) + ")");
  return labels_[id];
}

nlohmann::json LabelVocab::to_json() const { return nlohmann::json{{"labels", labels_}}; }

LabelVocab LabelVocab::from_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("labels") || !j["labels"].is_array())
    throw InputError("label vocabulary: expected an object with a 'labels' array");
  const auto& a = j["labels"];
  if (a.size() < 2 || a[0] != kEmpty || a[1] != "<unk>")
    throw InputError("label vocabulary: labels must start with \"<empty>\", \"<unk>\"");
  LabelVocab v;
  for (size_t i = 2; i < a.size(); ++i) {
    if (!a[i].is_string()) throw InputError("label vocabulary: labels[" + std::to_string(i) + "] is not a string");
    if (v.find(a[i].get<std::string>()))
      throw InputError("label vocabulary: duplicate label '" + a[i].get<std::string>() + "'");
    v.add(a[i].get<std::string>());
  }
  return v;
}

DcuIds encode(const Dcu& dcu, LabelVocab& c_vocab, LabelVocab& u_vocab, bool grow) {
  DcuIds ids;
  ids.d.assign(dcu.d.begin(), dcu.d.end());
  for (const auto& l : dcu.c) ids.c.push_back(grow ? c_vocab.add(l) : c_vocab.id_or_unk(l));
  for (const auto& l : dcu.u) ids.u.push_back(grow ? u_vocab.add(l) : u_vocab.id_or_unk(l));
  return ids;
}

Dcu decode(const DcuIds& ids, const LabelVocab& c_vocab, const LabelVocab& u_vocab) {
  Dcu dcu;
  dcu.d.assign(ids.d.begin(), ids.d.end());
  for (int id : ids.c) dcu.c.push_back(c_vocab.label(id));
  for (int id : ids.u) dcu.u.push_back(u_vocab.label(id));
  return dcu;
}

}  // namespace ps::syntax
