#include "store_planted.h"

#include <cmath>
#include <filesystem>
#include <functional>
#include <random>

#include "data/store/writer.h"
#include "tests/common/scratch.h"

namespace ps::probes::planted {

namespace {

// Root-to-leaf paths as lists of edge ids (an edge is named by its child node).
std::vector<std::vector<int>> leaf_paths(const PTree& t) {
  std::vector<std::vector<int>> path(t.n_leaves);
  std::vector<int> p;
  std::function<void(int)> walk = [&](int id) {
    const PNode& nd = t.nodes[id];
    if (nd.left < 0) {
      path[nd.leaf_index] = p;
      return;
    }
    for (int ch : {nd.left, nd.right}) {
      p.push_back(ch);
      walk(ch);
      p.pop_back();
    }
  };
  walk(t.root);
  return path;
}

}  // namespace

std::vector<float> planted_distances(const PTree& t) {
  const auto path = leaf_paths(t);
  const int n = t.n_leaves;
  std::vector<float> d(static_cast<size_t>(n) * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      size_t common = 0;
      while (common < path[i].size() && common < path[j].size() && path[i][common] == path[j][common]) ++common;
      d[static_cast<size_t>(i) * n + j] = static_cast<float>(path[i].size() + path[j].size() - 2 * common);
    }
  return d;
}

std::vector<float> planted_depths(const PTree& t) {
  std::vector<float> d;
  for (const auto& p : leaf_paths(t)) d.push_back(static_cast<float>(p.size()));
  return d;
}

std::string planted_code(const std::vector<int32_t>& types) {
  std::string code;
  char buf[8];
  for (int32_t t : types) {
    std::snprintf(buf, sizeof buf, "t%03d ", static_cast<int>(t % 1000));
    code += buf;
  }
  return code;
}

int32_t planted_corpus_split(int snippet) { return snippet % 7 == 6 ? -1 : snippet % 5 == 0 ? 2 : snippet % 5 == 1 ? 1 : 0; }

std::string fresh_dir(const std::string& name) {
  return ps::test::scratch_dir(name).string();
}

PlantedStore write_planted_store(const std::string& path, const PlantedStoreOptions& o) {
  using namespace ps::store;
  const DecodeVocab vocab = planted_vocab();
  const int nc = static_cast<int>(vocab.c.labels.size()), nu = static_cast<int>(vocab.u.labels.size());
  PlantedStore out;
  out.embedding = random_orthogonal(o.dim, o.embed_seed);
  const std::vector<float>& A = out.embedding;
  std::mt19937_64 rng(o.seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  SnippetBatch b;
  b.with_syntax = true;
  for (int L = 0; L < 3; ++L) b.acts[act_name(Rows::words, L)] = ActBlock{Rows::words, DType::f32, Block(DType::f32, o.dim)};
  TableBlock st, an, meta;
  meta.columns["split"] = Block(DType::i32, 0);  // the corpus split, as extract stores it
  st.columns["depth"] = Block(DType::i32, 0);
  st.columns["leaf_node"] = Block(DType::i32, 0);
  an.columns["parent"] = Block(DType::i32, 0);
  auto emit = [&](int L, const std::vector<double>& v) {
    std::vector<float> row(o.dim);
    for (int r = 0; r < o.dim; ++r) row[r] = static_cast<float>(v[r]);
    b.acts[act_name(Rows::words, L)].data.append(row.data(), 1);
  };
  const int empty_at = o.n_snippets / 2;
  for (int s = 0; s < o.n_snippets; ++s) {
    Snippet sn;
    sn.id = "planted-" + std::to_string(s);
    out.ids.push_back(sn.id);
    const int32_t corpus_split = planted_corpus_split(s);
    meta.columns["split"].append(&corpus_split, 1);
    meta.counts.push_back(1);
    if (s == empty_at) {  // a snippet without words is kept in the store and skipped by the probes
      out.trees.emplace_back();
      out.types.emplace_back();
      b.snippets.push_back(sn);
      st.counts.push_back(0), an.counts.push_back(0);
      continue;
    }
    const int n = o.min_leaves + static_cast<int>(rng() % static_cast<uint64_t>(o.max_leaves - o.min_leaves + 1));
    const PTree tree = random_tree(n, rng, vocab);
    std::vector<int32_t> d, c, u, types;
    tree_to_dcu(tree, d, c, u);
    for (int i = 0; i < n; ++i) {
      types.push_back(static_cast<int32_t>(rng() % static_cast<uint64_t>(o.n_types)));
      sn.input_ids.push_back(types.back());
      sn.char_spans.push_back({5 * i, 5 * i + 4});
      sn.word_spans.push_back({5 * i, 5 * i + 4});
      sn.word_subwords.push_back({i, i + 1});
      sn.syn_u.push_back(vocab.u.labels[u[i]]);
      if (i + 1 < n) sn.syn_d.push_back(d[i]), sn.syn_c.push_back(vocab.c.labels[c[i]]);
    }
    // Layer 0: noise. Layer 1: t = [a; b] with a_i = Σ_{j<i} sqrt(d_j) e_{c_j}, b_i = 0.5 e_{u_i}.
    // Layer 2: the sum of one orthonormal direction per edge on the root path.
    const auto paths = leaf_paths(tree);
    std::vector<double> a(nc, 0.0);
    for (int i = 0; i < n; ++i) {
      std::vector<double> v0(o.dim), v1(o.dim), v2(o.dim);
      if (i > 0) a[c[i - 1]] += std::sqrt(static_cast<double>(d[i - 1]));
      std::vector<double> t(nc + nu, 0.0);
      for (int k = 0; k < nc; ++k) t[k] = a[k];
      t[nc + u[i]] = 0.5;
      for (int r = 0; r < o.dim; ++r) {
        v0[r] = gauss(rng);
        double x = 0, y = 0;
        for (int k = 0; k < nc + nu; ++k) x += A[static_cast<size_t>(r) * o.dim + k] * t[k];
        for (int e : paths[i]) y += A[static_cast<size_t>(r) * o.dim + e % o.dim];
        v1[r] = x + o.noise * gauss(rng);
        v2[r] = y + o.noise * gauss(rng);
      }
      emit(0, v0), emit(1, v1), emit(2, v2);
      const int32_t depth = static_cast<int32_t>(paths[i].size());
      st.columns["depth"].append(&depth, 1);
    }
    // ast_nodes: the planted tree's nodes in their own order; leaf_node of word i.
    std::vector<int32_t> parent(tree.nodes.size(), -1), leaf_node(n, -1);
    for (size_t id = 0; id < tree.nodes.size(); ++id) {
      const PNode& nd = tree.nodes[id];
      if (nd.left >= 0) parent[nd.left] = parent[nd.right] = static_cast<int32_t>(id);
      else leaf_node[nd.leaf_index] = static_cast<int32_t>(id);
    }
    st.columns["leaf_node"].append(leaf_node.data(), n);
    an.columns["parent"].append(parent.data(), static_cast<int64_t>(parent.size()));
    st.counts.push_back(n), an.counts.push_back(static_cast<int64_t>(parent.size()));
    out.trees.push_back(tree);
    out.types.push_back(types);
    b.snippets.push_back(std::move(sn));
  }
  b.tables["structural"] = std::move(st);
  b.tables["ast_nodes"] = std::move(an);
  b.tables["snippet_meta"] = std::move(meta);
  Manifest m = {{"model_label", o.model_label}, {"language", o.language}, {key::model_path, "planted"},
                {key::dtype, "float32"}};
  WriterOptions wo;
  wo.mode = WriterOptions::Mode::overwrite;
  StoreWriter w(path, m, wo);
  w.append(b);
  w.finish();
  return out;
}

}  // namespace ps::probes::planted
