#include "probes/metrics.h"

#include <algorithm>

#include "models/util/error.h"

namespace ps::probes {

namespace {
std::vector<Constituent> sorted(std::vector<Constituent> v) {
  std::sort(v.begin(), v.end());
  return v;
}
}  // namespace

MatchCounts match_constituents(const std::vector<Constituent>& pred, const std::vector<Constituent>& gold) {
  const std::vector<Constituent> p = sorted(pred), g = sorted(gold);
  MatchCounts m;
  m.predicted = static_cast<int64_t>(p.size());
  m.gold = static_cast<int64_t>(g.size());
  size_t i = 0, j = 0;
  while (i < p.size() && j < g.size()) {
    if (p[i] < g[j]) {
      ++i;
    } else if (g[j] < p[i]) {
      ++j;
    } else {
      ++m.matched, ++i, ++j;
    }
  }
  return m;
}

PRF prf(const MatchCounts& m) {
  PRF r;
  r.precision = m.predicted ? static_cast<double>(m.matched) / m.predicted : (m.gold ? 0.0 : 1.0);
  r.recall = m.gold ? static_cast<double>(m.matched) / m.gold : (m.predicted ? 0.0 : 1.0);
  r.f1 = r.precision + r.recall > 0 ? 2 * r.precision * r.recall / (r.precision + r.recall) : 0.0;
  return r;
}

void ConstituentScorer::add(const std::vector<Constituent>& pred, const std::vector<Constituent>& gold) {
  const MatchCounts m = match_constituents(pred, gold);
  const PRF s = prf(m);
  ++n_;
  sum_p_ += s.precision;
  sum_r_ += s.recall;
  sum_f_ += s.f1;
  total_.matched += m.matched;
  total_.predicted += m.predicted;
  total_.gold += m.gold;
  // Per-label recall: multiset matches restricted to each gold label.
  std::map<std::string, std::vector<Constituent>> pl, gl;
  for (const auto& c : pred) pl[c.label].push_back(c);
  for (const auto& c : gold) gl[c.label].push_back(c);
  for (const auto& [label, gs] : gl) {
    LabelRecall& r = per_label_[label];
    r.gold += static_cast<int64_t>(gs.size());
    auto it = pl.find(label);
    if (it != pl.end()) r.matched += match_constituents(it->second, gs).matched;
  }
}

PRF ConstituentScorer::macro() const {
  if (!n_) return {};
  return {sum_p_ / n_, sum_r_ / n_, sum_f_ / n_};
}

PRF ConstituentScorer::micro() const { return prf(total_); }

AstProbeMetrics evaluate_predictions(const std::vector<DcuPrediction>& pred, const ProbeDataset& gold,
                                     const DecodeVocab& vocab) {
  if (pred.size() != gold.samples.size())
    throw InputError("evaluate_predictions: " + std::to_string(pred.size()) + " predictions for " +
                     std::to_string(gold.samples.size()) + " gold samples");
  ConstituentScorer scorer;
  int64_t c_ok = 0, c_n = 0, u_ok = 0, u_n = 0;
  for (size_t i = 0; i < pred.size(); ++i) {
    const ProbeSample& g = gold.samples[i];
    const DcuPrediction& p = pred[i];
    if (p.u.size() != g.u.size() || p.c.size() != g.c.size())
      throw InputError("evaluate_predictions: sample " + std::to_string(i) + ": prediction length differs from gold");
    scorer.add(decode_constituents(p, vocab), decode_constituents(gold_as_prediction(g), vocab));
    for (size_t k = 0; k < g.c.size(); ++k) c_ok += p.c[k] == g.c[k];
    for (size_t k = 0; k < g.u.size(); ++k) u_ok += p.u[k] == g.u[k];
    c_n += static_cast<int64_t>(g.c.size());
    u_n += static_cast<int64_t>(g.u.size());
  }
  AstProbeMetrics m;
  m.macro = scorer.macro();
  m.micro = scorer.micro();
  m.c_accuracy = c_n ? static_cast<double>(c_ok) / c_n : 0.0;
  m.u_accuracy = u_n ? static_cast<double>(u_ok) / u_n : 0.0;
  m.n_snippets = scorer.n_snippets();
  m.per_label = scorer.per_label();
  return m;
}

}  // namespace ps::probes
