// Store → probe datasets. Everything layer-independent is read once; a layer's word vectors are
// streamed in ~32 MB slabs straight into the per-split sample vectors.
#include "probes/store_data.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <unordered_map>

#include "models/util/error.h"
#include "probes/fit_loop.h"

namespace ps::probes {

const char* split_name(Split s) {
  switch (s) {
    case Split::train: return "train";
    case Split::valid: return "valid";
    case Split::test: return "test";
  }
  return "?";
}

namespace {

int32_t find_label(const std::vector<std::string>& v, const std::string& s) {
  const auto it = std::find(v.begin(), v.end(), s);
  return it == v.end() ? -1 : static_cast<int32_t>(it - v.begin());
}

std::vector<int32_t> ints(const store::Block& b) {
  const std::vector<int64_t> v = b.to_ints();
  return std::vector<int32_t>(v.begin(), v.end());
}

// Tree distances between the words' leaves, from the snippet's AST parent array.
std::vector<float> leaf_distances(const std::vector<int32_t>& parent, const std::vector<int32_t>& leaf,
                                  const std::string& where_) {
  const int n_nodes = static_cast<int>(parent.size());
  std::vector<int> depth(n_nodes, -1);
  for (int v = 0; v < n_nodes; ++v) {
    // Walk up to a node of known depth; more than n_nodes steps means a cycle.
    std::vector<int> chain;
    int x = v;
    while (x >= 0 && depth[x] < 0) {
      if (static_cast<int>(chain.size()) > n_nodes) throw InputError(where_ + ": ast_nodes parents form a cycle");
      chain.push_back(x);
      const int p = parent[x];
      if (p < -1 || p >= n_nodes) throw InputError(where_ + ": ast_nodes parent " + std::to_string(p) + " out of range");
      x = p;
    }
    int d = x < 0 ? -1 : depth[x];
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) depth[*it] = ++d;
  }
  const size_t n = leaf.size();
  std::vector<float> dist(n * n, 0.0f);
  std::vector<int> mark(n_nodes, -1);
  for (size_t i = 0; i < n; ++i) {
    for (int x = leaf[i]; x >= 0; x = parent[x]) mark[x] = static_cast<int>(i);
    for (size_t j = 0; j < n; ++j) {
      int x = leaf[j];
      while (x >= 0 && mark[x] != static_cast<int>(i)) x = parent[x];
      if (x < 0) throw InputError(where_ + ": words " + std::to_string(i) + " and " + std::to_string(j) +
                                  " are in different trees (more than one root)");
      dist[i * n + j] = static_cast<float>(depth[leaf[i]] + depth[leaf[j]] - 2 * depth[x]);
    }
  }
  return dist;
}

}  // namespace

StoreLabels read_store_labels(const store::StoreReader& r, const SplitOptions& split, const LabelOptions& opt) {
  StoreLabels L;
  L.path = r.path();
  L.model = r.model_label();
  L.language = r.language();
  L.n_samples = r.num_samples();
  L.layers = r.layers(store::Rows::words);
  L.word_offsets = r.word_offsets();
  L.ids = r.ids(0, L.n_samples);
  L.has_syntax = r.has_syntax();
  if (opt.syntax && !L.has_syntax) throw InputError(where(r.path(), "no syntax labels (/syntax): extract with syntax"));
  if (L.has_syntax) {
    L.vocab.c.labels = r.c_vocab();
    L.vocab.u.labels = r.u_vocab();
    L.vocab.c.empty_id = find_label(L.vocab.c.labels, "<empty>");
    L.vocab.u.empty_id = find_label(L.vocab.u.labels, "<empty>");
  }
  const bool structural = opt.depths || opt.distances;
  if (structural) {
    const auto names = r.table_names();
    for (const char* t : {"structural", "ast_nodes"})
      if ((opt.distances || std::string(t) == "structural") && std::find(names.begin(), names.end(), t) == names.end())
        throw InputError(where(r.path(), std::string("no table '") + t + "' (extract with structural targets)"));
  }
  const size_t N = static_cast<size_t>(L.n_samples);
  if (opt.syntax) L.d.resize(N), L.c.resize(N), L.u.resize(N);
  if (opt.types) L.types.resize(N);
  if (opt.depths) L.depths.resize(N);
  if (opt.distances) L.distances.resize(N);
  L.split_of_snippet.assign(N, -1);
  std::unordered_map<std::string, int32_t> type_ids;
  int64_t cap[3] = {split.max_train, split.max_valid, split.max_test};
  std::vector<int64_t> corpus_split;
  if (split.corpus) {
    const auto names = r.table_names();
    if (std::find(names.begin(), names.end(), "snippet_meta") == names.end())
      throw InputError(where(r.path(), "--split corpus: no table snippet_meta (the corpus splits); use fractions"));
    corpus_split.reserve(N);
    for (size_t i = 0; i < N; ++i) {
      const std::vector<int64_t> v = r.table("snippet_meta", "split", static_cast<int64_t>(i)).to_ints();
      corpus_split.push_back(v.size() == 1 ? v[0] : -1);
    }
  }
  for (size_t i = 0; i < N; ++i) {
    const int64_t W = L.word_offsets[i + 1] - L.word_offsets[i];
    if (W <= 0) continue;
    const std::string at = r.path() + ": snippet " + std::to_string(i) + " (" + L.ids[i] + ")";
    // A snippet without an id is hashed by its index, so empty ids do not all land in one split.
    const int k = split.corpus ? static_cast<int>(corpus_split[i])
                               : static_cast<int>(split_of(L.ids[i].empty() ? "#" + std::to_string(i) : L.ids[i], split));
    if (k < 0 || k > 2) continue;
    if (cap[k] > 0 && static_cast<int64_t>(L.snippets[k].size()) >= cap[k]) continue;
    if (opt.syntax) {
      store::SyntaxData sd = r.syntax(static_cast<int64_t>(i));
      if (static_cast<int64_t>(sd.u.size()) != W || static_cast<int64_t>(sd.d.size()) != W - 1 || sd.c.size() != sd.d.size())
        throw InputError(at + ": syntax d/c/u lengths do not match its " + std::to_string(W) + " words");
      L.d[i] = std::move(sd.d), L.c[i] = std::move(sd.c), L.u[i] = std::move(sd.u);
    }
    if (opt.types) {
      const store::WordData wd = r.words(static_cast<int64_t>(i));
      const std::vector<int32_t> ids = r.tokens(static_cast<int64_t>(i)).input_ids;
      for (const store::Span& sw : wd.subwords) {
        if (sw.begin < 0 || sw.end < sw.begin || sw.end > static_cast<int64_t>(ids.size()))
          throw InputError(at + ": word subword range outside its tokens");
        const std::string key(reinterpret_cast<const char*>(ids.data() + sw.begin), (sw.end - sw.begin) * sizeof(int32_t));
        L.types[i].push_back(type_ids.emplace(key, static_cast<int32_t>(type_ids.size())).first->second);
      }
    }
    if (structural) {
      const auto rows = r.table_range("structural", static_cast<int64_t>(i));
      if (rows.end - rows.begin != W) throw InputError(at + ": table structural has " + std::to_string(rows.end - rows.begin) + " rows for " + std::to_string(W) + " words");
      if (opt.depths) {
        const std::vector<int32_t> dep = ints(r.table("structural", "depth", static_cast<int64_t>(i)));
        L.depths[i].assign(dep.begin(), dep.end());
      }
      if (opt.distances) {
        const std::vector<int32_t> leaf = ints(r.table("structural", "leaf_node", static_cast<int64_t>(i)));
        const std::vector<int32_t> parent = ints(r.table("ast_nodes", "parent", static_cast<int64_t>(i)));
        for (int32_t x : leaf)
          if (x < 0 || x >= static_cast<int32_t>(parent.size()))
            throw InputError(at + ": leaf_node " + std::to_string(x) + " outside its " + std::to_string(parent.size()) + " ast_nodes");
        L.distances[i] = leaf_distances(parent, leaf, at);
      }
    }
    L.split_of_snippet[i] = static_cast<int8_t>(k);
    L.snippets[k].push_back(static_cast<int64_t>(i));
  }
  return L;
}

LayerSplits read_layer(const store::StoreReader& r, const StoreLabels& labels, int layer) {
  const std::string name = store::act_name(store::Rows::words, layer);
  if (!r.has_act(name)) throw InputError(where(r.path(), "no activation " + name));
  LayerSplits out;
  out.layer = layer;
  out.dim = static_cast<int>(r.act_info(name).col.width);
  if (out.dim <= 0) throw InputError(where(r.path(), name + " has no width"));
  std::vector<int64_t> pos(labels.split_of_snippet.size(), -1);
  for (int k = 0; k < 3; ++k) {
    out.vectors[k].resize(labels.snippets[k].size());
    for (size_t j = 0; j < labels.snippets[k].size(); ++j) pos[labels.snippets[k][j]] = static_cast<int64_t>(j);
  }
  const int64_t slab_rows = std::max<int64_t>(1, (int64_t(32) << 20) / (out.dim * int64_t(sizeof(float))));
  const auto& off = labels.word_offsets;
  const int64_t N = static_cast<int64_t>(labels.split_of_snippet.size());
  for (int64_t a = 0; a < N;) {
    while (a < N && labels.split_of_snippet[a] < 0) ++a;  // skip unused snippets entirely
    if (a >= N) break;
    int64_t b = a + 1;
    while (b < N && off[b + 1] - off[a] <= slab_rows) ++b;
    const store::Matrix m = r.acts_rows(name, off[a], off[b]);
    for (int64_t i = a; i < b; ++i) {
      if (labels.split_of_snippet[i] < 0) continue;
      const float* src = m.row(off[i] - off[a]);
      out.vectors[labels.split_of_snippet[i]][pos[i]].assign(src, src + (off[i + 1] - off[i]) * out.dim);
    }
    a = b;
  }
  return out;
}

ProbeDataset take_probe_dataset(LayerSplits& layer, const StoreLabels& L, Split s) {
  if (L.d.empty()) throw InputError(where(L.path, "syntax labels were not read"));
  const int k = static_cast<int>(s);
  ProbeDataset ds;
  ds.dim = layer.dim;
  ds.n_c_labels = std::max<int>(1, static_cast<int>(L.vocab.c.labels.size()));
  ds.n_u_labels = std::max<int>(1, static_cast<int>(L.vocab.u.labels.size()));
  ds.samples.resize(L.snippets[k].size());
  for (size_t j = 0; j < ds.samples.size(); ++j) {
    const int64_t i = L.snippets[k][j];
    ProbeSample& x = ds.samples[j];
    x.n_words = static_cast<int>(L.u[i].size());
    x.vectors = std::move(layer.vectors[k][j]);
    x.d = L.d[i], x.c = L.c[i], x.u = L.u[i];
  }
  return ds;
}

StructuralDataset take_structural_dataset(LayerSplits& layer, const StoreLabels& L, Split s, bool distances) {
  if ((distances ? L.distances : L.depths).empty())
    throw InputError(where(L.path, "structural targets were not read"));
  const int k = static_cast<int>(s);
  StructuralDataset ds;
  ds.dim = layer.dim;
  ds.samples.resize(L.snippets[k].size());
  for (size_t j = 0; j < ds.samples.size(); ++j) {
    const int64_t i = L.snippets[k][j];
    StructuralSample& x = ds.samples[j];
    x.n_words = static_cast<int>(L.word_offsets[i + 1] - L.word_offsets[i]);
    x.vectors = std::move(layer.vectors[k][j]);
    if (distances)
      x.distances = L.distances[i];
    else
      x.depths = L.depths[i];
  }
  return ds;
}

TokenDataset take_token_dataset(LayerSplits& layer, const StoreLabels& L, Split s) {
  if (L.u.empty() || L.types.empty()) throw InputError(where(L.path, "u labels or word types were not read"));
  const int k = static_cast<int>(s);
  TokenDataset ds;
  ds.dim = layer.dim;
  ds.n_labels = std::max<int>(1, static_cast<int>(L.vocab.u.labels.size()));
  size_t total = 0;
  for (int64_t i : L.snippets[k]) total += L.u[i].size();
  ds.vectors.reserve(total * layer.dim);
  for (size_t j = 0; j < L.snippets[k].size(); ++j) {
    const int64_t i = L.snippets[k][j];
    ds.vectors.insert(ds.vectors.end(), layer.vectors[k][j].begin(), layer.vectors[k][j].end());
    std::vector<float>().swap(layer.vectors[k][j]);  // free as we go: peak stays near one copy
    ds.labels.insert(ds.labels.end(), L.u[i].begin(), L.u[i].end());
    ds.word_types.insert(ds.word_types.end(), L.types[i].begin(), L.types[i].end());
  }
  return ds;
}

std::vector<std::vector<int32_t>> split_types(const StoreLabels& L, Split s) {
  std::vector<std::vector<int32_t>> out;
  for (int64_t i : L.snippets[static_cast<int>(s)]) out.push_back(L.types.at(i));
  return out;
}

}  // namespace ps::probes
