// Metrics of the structural probes: UUAS over minimum spanning trees, Spearman averaged over
// sentence lengths, root accuracy. Pure C++, no torch.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "models/util/error.h"
#include "probes/structural.h"

namespace ps::probes {

namespace {

std::vector<double> average_ranks(const std::vector<double>& v) {
  std::vector<size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
    const double avg = 0.5 * static_cast<double>(i + j) + 1.0;
    for (size_t k = i; k <= j; ++k) r[idx[k]] = avg;
    i = j + 1;
  }
  return r;
}

// Mean over lengths in [lo, hi] of the per-length mean of `values` (NaNs skipped).
std::pair<double, int> mean_over_lengths(const std::map<int, std::vector<double>>& by_len, int lo, int hi) {
  double sum = 0;
  int n = 0;
  for (const auto& [len, vals] : by_len) {
    if (len < lo || len > hi || vals.empty()) continue;
    sum += std::accumulate(vals.begin(), vals.end(), 0.0) / static_cast<double>(vals.size());
    ++n;
  }
  return {n ? sum / n : 0.0, n};
}

void check_sizes(const std::vector<std::vector<double>>& pred, const StructuralDataset& gold, bool matrix) {
  if (pred.size() != gold.samples.size())
    throw InputError("structural metrics: " + std::to_string(pred.size()) + " predictions for " +
                     std::to_string(gold.samples.size()) + " gold samples");
  for (size_t i = 0; i < pred.size(); ++i) {
    const size_t n = static_cast<size_t>(gold.samples[i].n_words);
    const size_t want = matrix ? n * n : n;
    const size_t have_gold = matrix ? gold.samples[i].distances.size() : gold.samples[i].depths.size();
    if (pred[i].size() != want || have_gold != want)
      throw InputError("structural metrics: sample " + std::to_string(i) + ": size does not match n_words");
  }
}

}  // namespace

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) throw InputError("spearman: vectors differ in length");
  const size_t n = a.size();
  if (n < 2) return std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> ra = average_ranks(a), rb = average_ranks(b);
  const double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / n, mb = std::accumulate(rb.begin(), rb.end(), 0.0) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < n; ++i) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  if (saa == 0 || sbb == 0) return std::numeric_limits<double>::quiet_NaN();
  return sab / std::sqrt(saa * sbb);
}

std::vector<std::pair<int, int>> minimum_spanning_tree(const std::vector<double>& dist, int n) {
  if (n < 0 || dist.size() != static_cast<size_t>(n) * n) throw InputError("minimum_spanning_tree: matrix is not n×n");
  std::vector<std::pair<int, int>> edges;
  if (n < 2) return edges;
  std::vector<bool> in(n, false);
  std::vector<double> best(n, std::numeric_limits<double>::infinity());
  std::vector<int> from(n, -1);
  in[0] = true;
  for (int j = 1; j < n; ++j) best[j] = dist[j], from[j] = 0;
  for (int step = 1; step < n; ++step) {
    int pick = -1;
    for (int j = 0; j < n; ++j)
      if (!in[j] && (pick < 0 || best[j] < best[pick])) pick = j;
    in[pick] = true;
    edges.emplace_back(std::min(pick, from[pick]), std::max(pick, from[pick]));
    for (int j = 0; j < n; ++j)
      if (!in[j] && dist[static_cast<size_t>(pick) * n + j] < best[j]) best[j] = dist[static_cast<size_t>(pick) * n + j], from[j] = pick;
  }
  return edges;
}

DistanceMetrics evaluate_distances(const std::vector<std::vector<double>>& pred, const StructuralDataset& gold,
                                   int min_len, int max_len) {
  check_sizes(pred, gold, true);
  DistanceMetrics m;
  int64_t correct = 0;
  std::map<int, std::vector<double>> by_len;
  for (size_t s = 0; s < pred.size(); ++s) {
    const int n = gold.samples[s].n_words;
    const std::vector<double> g(gold.samples[s].distances.begin(), gold.samples[s].distances.end());
    if (n >= 2) {
      // Bottleneck (minimax) gold distance between every pair, read off one gold MST.
      std::vector<std::vector<std::pair<int, double>>> adj(n);
      for (auto [i, j] : minimum_spanning_tree(g, n)) {
        adj[i].push_back({j, g[static_cast<size_t>(i) * n + j]});
        adj[j].push_back({i, g[static_cast<size_t>(i) * n + j]});
      }
      std::vector<double> bottleneck(static_cast<size_t>(n) * n, 0.0);
      for (int src = 0; src < n; ++src) {
        std::vector<int> stack{src};
        std::vector<bool> seen(n, false);
        seen[src] = true;
        while (!stack.empty()) {
          const int v = stack.back();
          stack.pop_back();
          for (auto [w, len] : adj[v])
            if (!seen[w]) {
              seen[w] = true;
              bottleneck[static_cast<size_t>(src) * n + w] = std::max(bottleneck[static_cast<size_t>(src) * n + v], len);
              stack.push_back(w);
            }
        }
      }
      for (auto [i, j] : minimum_spanning_tree(pred[s], n)) {
        const size_t ij = static_cast<size_t>(i) * n + j;
        correct += g[ij] <= bottleneck[ij] + 1e-9;
      }
      m.n_edges += n - 1;
    }
    if (n >= min_len && n <= max_len) {
      double sum = 0;
      int cnt = 0;
      for (int i = 0; i < n; ++i) {
        const std::vector<double> pr(pred[s].begin() + static_cast<size_t>(i) * n, pred[s].begin() + static_cast<size_t>(i + 1) * n);
        const std::vector<double> gr(g.begin() + static_cast<size_t>(i) * n, g.begin() + static_cast<size_t>(i + 1) * n);
        const double r = spearman(pr, gr);
        if (!std::isnan(r)) sum += r, ++cnt;
      }
      if (cnt) by_len[n].push_back(sum / cnt);
    }
  }
  m.uuas = m.n_edges ? static_cast<double>(correct) / m.n_edges : 0.0;
  std::tie(m.spearman, m.n_lengths) = mean_over_lengths(by_len, min_len, max_len);
  return m;
}

DepthMetrics evaluate_depths(const std::vector<std::vector<double>>& pred, const StructuralDataset& gold,
                             int min_len, int max_len) {
  check_sizes(pred, gold, false);
  DepthMetrics m;
  int64_t root_ok = 0, total = 0;
  std::map<int, std::vector<double>> by_len;
  for (size_t s = 0; s < pred.size(); ++s) {
    const int n = gold.samples[s].n_words;
    const std::vector<double> g(gold.samples[s].depths.begin(), gold.samples[s].depths.end());
    const size_t argmin = static_cast<size_t>(std::min_element(pred[s].begin(), pred[s].end()) - pred[s].begin());
    root_ok += g[argmin] == *std::min_element(g.begin(), g.end());
    ++total;
    if (n >= min_len && n <= max_len) {
      const double r = spearman(pred[s], g);
      if (!std::isnan(r)) by_len[n].push_back(r);
    }
  }
  m.root_accuracy = total ? static_cast<double>(root_ok) / total : 0.0;
  std::tie(m.spearman, m.n_lengths) = mean_over_lengths(by_len, min_len, max_len);
  return m;
}

}  // namespace ps::probes
