#include "data/syntax/structural.h"

namespace ps::syntax {

StructuralTargets structural_targets(const LabelledTree& tree) {
  StructuralTargets s;
  s.parent.assign(tree.nodes.size(), -1);
  s.depth.assign(tree.nodes.size(), 0);
  s.leaf.assign(tree.num_tokens(), -1);
  for (int n : preorder(tree)) {  // parents come first, so their depth is known
    if (s.parent[n] >= 0) s.depth[n] = s.depth[s.parent[n]] + 1;
    const LabelledNode& x = tree.nodes[n];
    if (x.token >= 0) {
      if (x.token >= static_cast<int>(s.leaf.size()) || s.leaf[x.token] >= 0)
        throw InputError("structural targets: leaf token indices are not 0..n-1 without repeats");
      s.leaf[x.token] = n;
    }
    for (int c : x.children) s.parent[c] = n;
  }
  return s;
}

std::vector<int> distance_matrix(const StructuralTargets& t) {
  int n = t.num_tokens();
  std::vector<int> out(static_cast<size_t>(n) * n, 0);
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j) {
      int a = t.leaf[i], b = t.leaf[j], dist = 0;
      while (a != b) {  // climb the deeper one until they meet at the LCA
        if (t.depth[a] >= t.depth[b]) a = t.parent[a]; else b = t.parent[b];
        ++dist;
      }
      out[static_cast<size_t>(i) * n + j] = out[static_cast<size_t>(j) * n + i] = dist;
    }
  return out;
}

std::vector<int> token_depths(const StructuralTargets& t) {
  std::vector<int> out;
  for (int node : t.leaf) out.push_back(t.depth[node]);
  return out;
}

}  // namespace ps::syntax
