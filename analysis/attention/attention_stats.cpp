#include "analysis/attention/attention_stats.h"

#include <cmath>
#include <map>
#include <sstream>

#include "data/store/reader.h"
#include "models/util/error.h"

namespace ps::analysis {

std::vector<int> leaf_distances(const std::vector<int64_t>& parent, const std::vector<int64_t>& leaf_node) {
  const size_t n_nodes = parent.size(), W = leaf_node.size();
  std::vector<int> depth(n_nodes, -1);
  for (size_t v = 0; v < n_nodes; ++v) {  // iterative: walk up until a known depth
    std::vector<size_t> path;
    int64_t u = int64_t(v);
    while (u >= 0 && depth[size_t(u)] < 0) {
      path.push_back(size_t(u));
      u = parent[size_t(u)];
      if (path.size() > n_nodes) throw InputError("ast_nodes: the parent array has a cycle");
    }
    int d = u < 0 ? -1 : depth[size_t(u)];
    for (auto it = path.rbegin(); it != path.rend(); ++it) depth[*it] = ++d;
  }
  std::vector<int> dist(W * W, 0);
  for (size_t i = 0; i < W; ++i)
    for (size_t j = i + 1; j < W; ++j) {
      int64_t a = leaf_node[i], b = leaf_node[j];
      int steps = 0;
      while (a != b) {
        if (depth[size_t(a)] >= depth[size_t(b)]) a = parent[size_t(a)];
        else b = parent[size_t(b)];
        ++steps;
        if (a < 0 || b < 0) throw InputError("ast_nodes: leaves without a common root");
      }
      dist[i * W + j] = dist[j * W + i] = steps;
    }
  return dist;
}

namespace {

struct SnippetRelation {
  int64_t n = 0;
  std::vector<int> word_of;        // per token, -1 for none
  std::vector<uint8_t> neighbour;  // n×n: tokens of different words within max distance
};

SnippetRelation relation(const store::StoreReader& r, int64_t i, int max_dist) {
  SnippetRelation s;
  const auto words = r.words(i);
  s.n = int64_t(r.tokens(i).input_ids.size());
  s.word_of.assign(size_t(s.n), -1);
  for (size_t w = 0; w < words.subwords.size(); ++w)
    for (int64_t t = words.subwords[w].begin; t < words.subwords[w].end; ++t)
      if (s.word_of[size_t(t)] < 0) s.word_of[size_t(t)] = int(w);
  const auto dist = leaf_distances(r.table("ast_nodes", "parent", i).to_ints(), r.table("structural", "leaf_node", i).to_ints());
  const size_t W = words.subwords.size();
  s.neighbour.assign(size_t(s.n * s.n), 0);
  for (int64_t q = 0; q < s.n; ++q)
    for (int64_t k = 0; k < s.n; ++k) {
      const int wq = s.word_of[size_t(q)], wk = s.word_of[size_t(k)];
      if (wq >= 0 && wk >= 0 && wq != wk && dist[size_t(wq) * W + size_t(wk)] <= max_dist) s.neighbour[size_t(q * s.n + k)] = 1;
    }
  return s;
}

}  // namespace

std::vector<HeadStats> attention_stats(const std::string& store_path, const AttentionStatsOptions& opt, Progress* progress) {
  store::StoreReader r(store_path);
  std::vector<int> layers = opt.layers;
  if (layers.empty())
    for (const auto& t : r.table_names())
      if (t.rfind("attn/layer_", 0) == 0) layers.push_back(std::stoi(t.substr(11)));
  std::sort(layers.begin(), layers.end());
  if (layers.empty()) throw InputError(store_path + ": no attention tables (extract with --attention-layers)");
  for (const auto& t : {"ast_nodes", "structural"})
    if (r.table_columns(t).empty()) throw InputError(store_path + std::string(": no '") + t + "' table (extract with --syntax on)");
  const int64_t N = opt.max_snippets > 0 ? std::min(opt.max_snippets, r.num_samples()) : r.num_samples();

  // Pass 1: p(δ) = P(neighbour | offset δ) over the store; relations cached for pass 2.
  std::vector<SnippetRelation> rel;
  std::map<int64_t, std::pair<double, double>> by_offset;  // δ -> (neighbour pairs, pairs) among word tokens
  for (int64_t i = 0; i < N; ++i) {
    rel.push_back(relation(r, i, opt.max_tree_distance));
    const auto& s = rel.back();
    for (int64_t q = 0; q < s.n; ++q)
      for (int64_t k = 0; k < s.n; ++k)
        if (s.word_of[size_t(q)] >= 0) {
          auto& c = by_offset[k - q];
          c.first += s.neighbour[size_t(q * s.n + k)], c.second += 1;
        }
  }
  auto p_offset = [&](int64_t d) {
    auto it = by_offset.find(d);
    return it == by_offset.end() || it->second.second == 0 ? 0.0 : it->second.first / it->second.second;
  };

  std::vector<HeadStats> out;
  if (progress) progress->set_total(int64_t(layers.size()));
  for (int layer : layers) {
    const auto table = store::attn_table(layer);
    std::vector<HeadStats> heads;
    for (int64_t i = 0; i < N; ++i) {
      const auto& s = rel[size_t(i)];
      const auto pat = r.table(table, "pattern", i).to_floats();
      const int64_t H = int64_t(pat.size()) / (s.n * s.n);
      if (H * s.n * s.n != int64_t(pat.size())) throw InputError(store_path + ": " + table + ": snippet " + std::to_string(i) + " pattern size is not heads*n*n");
      if (heads.empty()) for (int h = 0; h < H; ++h) heads.push_back({layer, h});
      for (int64_t h = 0; h < H; ++h) {
        auto& st = heads[size_t(h)];
        for (int64_t q = 0; q < s.n; ++q) {
          const float* a = pat.data() + (h * s.n + q) * s.n;
          double dist = 0, ent = 0, mass = 0, ast = 0, base = 0;
          for (int64_t k = 0; k < s.n; ++k) {
            dist += a[k] * double(std::llabs(k - q));
            if (a[k] > 0) ent -= a[k] * std::log(double(a[k]));
            mass += a[k];
            ast += a[k] * s.neighbour[size_t(q * s.n + k)];
            base += a[k] * p_offset(k - q);
          }
          st.mean_distance += dist, st.entropy += ent, ++st.queries;
          if (s.word_of[size_t(q)] >= 0 && mass > 0) st.ast_fraction += ast / mass, st.baseline += base / mass, st.ratio += 1;
        }
      }
    }
    HeadStats mean{layer, -1};
    for (auto& st : heads) {
      const double word_queries = st.ratio;
      st.mean_distance /= double(st.queries), st.entropy /= double(st.queries);
      st.ast_fraction /= word_queries, st.baseline /= word_queries;
      st.ratio = st.baseline > 0 ? st.ast_fraction / st.baseline : 0;
      mean.mean_distance += st.mean_distance / double(heads.size()), mean.entropy += st.entropy / double(heads.size());
      mean.ast_fraction += st.ast_fraction / double(heads.size()), mean.baseline += st.baseline / double(heads.size());
      mean.queries += st.queries;
    }
    mean.ratio = mean.baseline > 0 ? mean.ast_fraction / mean.baseline : 0;
    out.insert(out.end(), heads.begin(), heads.end());
    out.push_back(mean);
    if (progress) progress->advance(1);
  }
  return out;
}

std::string attention_stats_csv(const std::vector<HeadStats>& rows, const std::string& model) {
  std::ostringstream s;
  s.precision(6);
  s << "model,layer,head,mean_distance,entropy,ast_fraction,baseline,ratio,queries\n";
  for (const auto& r : rows)
    s << model << ',' << r.layer << ',' << (r.head < 0 ? std::string("mean") : std::to_string(r.head)) << ','
      << r.mean_distance << ',' << r.entropy << ',' << r.ast_fraction << ',' << r.baseline << ',' << r.ratio << ','
      << r.queries << '\n';
  return s.str();
}

}  // namespace ps::analysis
