#pragma once
// Trivial AST-Probe baselines, scored on a split's own gold trees with the same decoder and metric as
// a fitted probe (spec ast-probe.md §3), so a report can say what F1 means:
//   right_branching_majority  d = right-branching chain, every c and u the train split's majority label
//                             (on real ASTs that label is <empty>, so this scores ≈ 0);
//   right_branching_gold      the same tree shape with the gold c and u labels;
//   random_d_gold             d drawn uniformly at random (seeded), gold labels;
//   gold_through_alignment    the best any probe can do given the vectors: gold d and labels, except that
//                             adjacent words whose vectors are identical get d̂ = 0 and all-zero c scores,
//                             so that split is decoded as the lowest, labelled <empty> (the tie rule of
//                             predict_ast_probe). 1.0 when no two adjacent words share a vector.
#include <cstdint>
#include <string>
#include <vector>

#include "probes/dataset.h"
#include "probes/metrics.h"

namespace ps::probes {

// Per sample: flag[i] = 1 when words i and i+1 have bitwise identical vectors (n_words − 1 flags).
std::vector<std::vector<uint8_t>> identical_adjacent(const std::vector<std::vector<float>>& vectors,
                                                     const std::vector<int>& n_words, int dim);

std::vector<DcuPrediction> right_branching(const ProbeDataset& gold, bool gold_labels, int32_t c_label = 0,
                                           int32_t u_label = 0);
std::vector<DcuPrediction> random_d(const ProbeDataset& gold, uint64_t seed);  // gold labels
std::vector<DcuPrediction> gold_through_alignment(const ProbeDataset& gold,
                                                  const std::vector<std::vector<uint8_t>>& identical,
                                                  int32_t c_empty);

// The most frequent id (lowest on ties) of the c or u labels of a split.
int32_t majority_c(const ProbeDataset& ds);
int32_t majority_u(const ProbeDataset& ds);

struct BaselineScore {
  std::string name;
  int layer = -1;             // gold_through_alignment: the layer whose vectors were compared; else -1
  std::vector<double> f1_macro, f1_micro;  // one per seed (one value for the deterministic baselines)
  int64_t n_snippets = 0;
  int64_t identical_pairs = 0, n_pairs = 0;  // gold_through_alignment only
};

// The three layer-independent baselines on `test`, majority labels from `train`; random d once per seed.
std::vector<BaselineScore> label_baselines(const ProbeDataset& train, const ProbeDataset& test, const DecodeVocab& vocab,
                                           const std::vector<uint64_t>& seeds);
// The cap at one layer.
BaselineScore alignment_cap(const ProbeDataset& test, const std::vector<std::vector<uint8_t>>& identical,
                            const DecodeVocab& vocab, int layer);

}  // namespace ps::probes
