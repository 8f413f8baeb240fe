#pragma once
// AST-Probe metrics (spec ast-probe.md §3): labelled constituents compared as multisets of
// (label, begin, end); per-snippet P/R/F1 macro-averaged (the paper's numbers), corpus-level micro
// (EVALB-style) P/R/F1, c and u token accuracies, per-label recall.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "probes/dataset.h"
#include "probes/tree_decode.h"

namespace ps::probes {

struct PRF {
  double precision = 0, recall = 0, f1 = 0;
};

struct MatchCounts {
  int64_t matched = 0, predicted = 0, gold = 0;
};

// Multiset intersection size of pred and gold.
MatchCounts match_constituents(const std::vector<Constituent>& pred, const std::vector<Constituent>& gold);

// Conventions for empty sets: precision = 1 when nothing was predicted and nothing was gold, 0 when
// nothing was predicted but gold exists (same for recall with the roles swapped); F1 = 0 when P+R = 0.
PRF prf(const MatchCounts& m);

struct LabelRecall {
  int64_t gold = 0, matched = 0;
  double recall() const { return gold ? static_cast<double>(matched) / gold : 0.0; }
};

class ConstituentScorer {
 public:
  void add(const std::vector<Constituent>& pred, const std::vector<Constituent>& gold);
  PRF macro() const;  // mean over snippets of per-snippet P, R, F1
  PRF micro() const;  // from corpus totals
  const std::map<std::string, LabelRecall>& per_label() const { return per_label_; }
  int64_t n_snippets() const { return n_; }

 private:
  int64_t n_ = 0;
  double sum_p_ = 0, sum_r_ = 0, sum_f_ = 0;
  MatchCounts total_;
  std::map<std::string, LabelRecall> per_label_;
};

struct AstProbeMetrics {
  PRF macro;
  PRF micro;
  double c_accuracy = 0;  // over all n-1 positions of all snippets
  double u_accuracy = 0;  // over all n positions
  int64_t n_snippets = 0;
  std::map<std::string, LabelRecall> per_label;
};

// Decodes every prediction and the gold (d, c, u) of the matching sample with the same decoder, and
// scores them. Throws InputError if counts or lengths disagree.
AstProbeMetrics evaluate_predictions(const std::vector<DcuPrediction>& pred, const ProbeDataset& gold,
                                     const DecodeVocab& vocab);

}  // namespace ps::probes
