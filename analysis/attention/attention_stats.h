#pragma once
// Statistics of stored attention patterns (tables attn/layer_L written by `extract --attention-layers`), per layer
// and head, over all snippets of a store:
//   mean distance  Σ_k a[q,k]·|q−k|, averaged over queries;
//   entropy        −Σ_k a[q,k]·ln a[q,k], averaged over queries (nats);
//   AST fraction   attention mass from a code-token query to keys of OTHER code tokens that are AST neighbours
//                  (tree distance between their leaves ≤ max_tree_distance; 2 = siblings under one parent),
//                  over the query's total mass;
//   baseline       the same mass if the relation were independent of content given the offset k−q: each (q,k)
//                  weighs a[q,k]·p(k−q), where p(δ) = fraction of token pairs at offset δ that are AST neighbours,
//                  estimated on the same store. ratio = AST fraction / baseline (> 1: the head follows syntax
//                  beyond what its positional habit explains).
// Tokens map to words by the stored subword spans; special tokens belong to no word.
#include <cstdint>
#include <string>
#include <vector>

#include "models/util/progress.h"

namespace ps::analysis {

struct AttentionStatsOptions {
  std::vector<int> layers;     // empty = every attention layer in the store
  int max_tree_distance = 2;
  int64_t max_snippets = 0;    // 0 = all
};

struct HeadStats {
  int layer = 0;
  int head = -1;               // -1 = the mean over heads
  double mean_distance = 0, entropy = 0, ast_fraction = 0, baseline = 0, ratio = 0;
  int64_t queries = 0;
};

std::vector<HeadStats> attention_stats(const std::string& store_path, const AttentionStatsOptions& opt,
                                       Progress* progress = nullptr);

std::string attention_stats_csv(const std::vector<HeadStats>& rows, const std::string& model);

// Tree distance (edges) between the leaves of every pair of words, from a parent array and each word's leaf.
std::vector<int> leaf_distances(const std::vector<int64_t>& parent, const std::vector<int64_t>& leaf_node);

}  // namespace ps::analysis
