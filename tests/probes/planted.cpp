#include "planted.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "probes/tree_decode.h"

namespace ps::probes::planted {

DecodeVocab planted_vocab() {
  DecodeVocab v;
  v.c.labels = {"<empty>", "A", "B", "C", "D<sep>E", "F"};
  v.c.empty_id = 0;
  v.u.labels = {"<empty>", "x", "y<sep>z", "w"};
  v.u.empty_id = 0;
  return v;
}

PTree random_tree(int n_leaves, std::mt19937_64& rng, const DecodeVocab& vocab) {
  PTree t;
  t.n_leaves = n_leaves;
  std::function<int(int, int)> build = [&](int lo, int hi) -> int {
    PNode n;
    if (lo == hi) {
      n.leaf_index = lo;
      n.unary = static_cast<int32_t>(rng() % vocab.u.labels.size());
    } else {
      const int split = lo + static_cast<int>(rng() % static_cast<uint64_t>(hi - lo));
      n.left = build(lo, split);
      n.right = build(split + 1, hi);
      n.label = static_cast<int32_t>(rng() % vocab.c.labels.size());
    }
    t.nodes.push_back(n);
    return static_cast<int>(t.nodes.size()) - 1;
  };
  t.root = build(0, n_leaves - 1);
  return t;
}

void tree_to_dcu(const PTree& t, std::vector<int32_t>& d, std::vector<int32_t>& c, std::vector<int32_t>& u) {
  d.clear(), c.clear(), u.clear();
  std::function<int(int)> f = [&](int id) -> int {
    const PNode& n = t.nodes[id];
    if (n.left < 0) {
      u.push_back(n.unary);
      return 0;
    }
    const int hl = f(n.left);
    const size_t slot = d.size();
    d.push_back(0);
    c.push_back(n.label);
    const int hr = f(n.right);
    const int h = std::max(hl, hr) + 1;
    d[slot] = h;
    return h;
  };
  f(t.root);
}

std::string expanded_bracket(const PTree& t, const DecodeVocab& vocab) {
  // Returns the space-separated forest for node id (several items when an <empty> node splices up).
  std::function<std::string(int)> f = [&](int id) -> std::string {
    const PNode& n = t.nodes[id];
    std::string inner;
    std::string label;
    if (n.left < 0) {
      inner = std::to_string(n.leaf_index);
      if (n.unary == vocab.u.empty_id) return inner;
      label = vocab.u.labels[n.unary];
    } else {
      inner = f(n.left) + " " + f(n.right);
      if (n.label == vocab.c.empty_id) return inner;
      label = vocab.c.labels[n.label];
    }
    std::vector<std::string> parts = split_label(label, vocab.sep);
    std::string s = inner;
    for (size_t k = parts.size(); k-- > 0;) s = "(" + parts[k] + " " + s + ")";
    return s;
  };
  return f(t.root);
}

std::vector<float> random_orthogonal(int dim, uint64_t seed) {
  at::manual_seed(seed);
  const at::Tensor q = std::get<0>(at::linalg_qr(at::randn({dim, dim}, at::kDouble))).to(at::kFloat).contiguous();
  return std::vector<float>(q.data_ptr<float>(), q.data_ptr<float>() + dim * dim);
}

ProbeDataset planted_dataset(const PlantedOptions& o, uint64_t embed_seed) {
  const DecodeVocab vocab = planted_vocab();
  const int nc = static_cast<int>(vocab.c.labels.size()), nu = static_cast<int>(vocab.u.labels.size());
  const int kt = nc + nu;  // a uses dims [0, nc), b uses [nc, nc+nu)
  const std::vector<float> A = random_orthogonal(o.dim, embed_seed);
  std::mt19937_64 rng(o.seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  ProbeDataset ds;
  ds.dim = o.dim;
  ds.n_c_labels = nc;
  ds.n_u_labels = nu;
  for (int s = 0; s < o.n_samples; ++s) {
    const int n = o.min_leaves + static_cast<int>(rng() % static_cast<uint64_t>(o.max_leaves - o.min_leaves + 1));
    const PTree tree = random_tree(n, rng, vocab);
    ProbeSample ps;
    ps.n_words = n;
    tree_to_dcu(tree, ps.d, ps.c, ps.u);
    ps.vectors.assign(static_cast<size_t>(n) * o.dim, 0.0f);
    std::vector<double> a(nc, 0.0);
    for (int i = 0; i < n; ++i) {
      if (i > 0) a[ps.c[i - 1]] += std::sqrt(static_cast<double>(ps.d[i - 1]));
      std::vector<double> t(kt, 0.0);
      for (int k = 0; k < nc; ++k) t[k] = a[k];
      t[nc + ps.u[i]] = 0.5;
      for (int r = 0; r < o.dim; ++r) {
        double v = 0;
        if (!o.pure_noise)
          for (int k = 0; k < kt; ++k) v += A[static_cast<size_t>(r) * o.dim + k] * t[k];
        ps.vectors[static_cast<size_t>(i) * o.dim + r] = static_cast<float>(v + (o.pure_noise ? 1.0 : o.noise) * gauss(rng));
      }
    }
    ds.samples.push_back(std::move(ps));
  }
  return ds;
}

StructuralDataset planted_structural(int n_samples, int min_leaves, int max_leaves, int dim, uint64_t seed,
                                     uint64_t embed_seed) {
  const std::vector<float> A = random_orthogonal(dim, embed_seed);
  const DecodeVocab vocab = planted_vocab();
  std::mt19937_64 rng(seed);
  StructuralDataset ds;
  ds.dim = dim;
  for (int s = 0; s < n_samples; ++s) {
    const int n = min_leaves + static_cast<int>(rng() % static_cast<uint64_t>(max_leaves - min_leaves + 1));
    const PTree tree = random_tree(n, rng, vocab);
    // Root path of every leaf as a set of edge ids (an edge is identified by its child node).
    std::vector<std::vector<int>> path(n);
    std::function<void(int, std::vector<int>&)> walk = [&](int id, std::vector<int>& p) {
      const PNode& nd = tree.nodes[id];
      if (nd.left < 0) {
        path[nd.leaf_index] = p;
        return;
      }
      for (int ch : {nd.left, nd.right}) {
        p.push_back(ch);
        walk(ch, p);
        p.pop_back();
      }
    };
    std::vector<int> p;
    walk(tree.root, p);
    // Edge e → basis column (e mod dim); trees stay small enough that edges never share a column.
    StructuralSample x;
    x.n_words = n;
    x.vectors.assign(static_cast<size_t>(n) * dim, 0.0f);
    x.depths.resize(n);
    x.distances.assign(static_cast<size_t>(n) * n, 0.0f);
    for (int i = 0; i < n; ++i) {
      x.depths[i] = static_cast<float>(path[i].size());
      for (int e : path[i])
        for (int r = 0; r < dim; ++r) x.vectors[static_cast<size_t>(i) * dim + r] += A[static_cast<size_t>(r) * dim + e % dim];
      for (int j = 0; j < n; ++j) {
        size_t common = 0;
        while (common < path[i].size() && common < path[j].size() && path[i][common] == path[j][common]) ++common;
        x.distances[static_cast<size_t>(i) * n + j] = static_cast<float>(path[i].size() + path[j].size() - 2 * common);
      }
    }
    ds.samples.push_back(std::move(x));
  }
  return ds;
}

}  // namespace ps::probes::planted
