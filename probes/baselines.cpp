#include "probes/baselines.h"

#include <cstring>
#include <map>

#include "models/util/error.h"
#include "probes/fit_loop.h"

namespace ps::probes {

std::vector<std::vector<uint8_t>> identical_adjacent(const std::vector<std::vector<float>>& vectors,
                                                     const std::vector<int>& n_words, int dim) {
  if (vectors.size() != n_words.size()) throw InputError("identical_adjacent: vectors and n_words differ in length");
  std::vector<std::vector<uint8_t>> out(vectors.size());
  const size_t row = static_cast<size_t>(dim) * sizeof(float);
  for (size_t s = 0; s < vectors.size(); ++s) {
    const int n = n_words[s];
    if (vectors[s].size() != static_cast<size_t>(n) * dim) throw InputError("identical_adjacent: sample size mismatch");
    out[s].assign(n > 0 ? n - 1 : 0, 0);
    for (int i = 0; i + 1 < n; ++i)
      out[s][i] = std::memcmp(vectors[s].data() + static_cast<size_t>(i) * dim,
                              vectors[s].data() + static_cast<size_t>(i + 1) * dim, row) == 0;
  }
  return out;
}

std::vector<DcuPrediction> right_branching(const ProbeDataset& gold, bool gold_labels, int32_t c_label,
                                           int32_t u_label) {
  std::vector<DcuPrediction> out;
  for (const ProbeSample& s : gold.samples) {
    DcuPrediction p;
    // Strictly decreasing d: the decoder splits at the first word each time, P(w0, P(w1, P(w2, ...))).
    for (int i = 0; i + 1 < s.n_words; ++i) p.d.push_back(static_cast<double>(s.n_words - 1 - i));
    if (gold_labels) {
      p.c = s.c, p.u = s.u;
    } else {
      p.c.assign(s.c.size(), c_label);
      p.u.assign(s.u.size(), u_label);
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<DcuPrediction> random_d(const ProbeDataset& gold, uint64_t seed) {
  Rng rng(mix64(seed ^ 0xbadd00dULL));
  std::vector<DcuPrediction> out;
  for (const ProbeSample& s : gold.samples) {
    DcuPrediction p;
    for (int i = 0; i + 1 < s.n_words; ++i) p.d.push_back(rng.uniform());
    p.c = s.c, p.u = s.u;
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<DcuPrediction> gold_through_alignment(const ProbeDataset& gold,
                                                  const std::vector<std::vector<uint8_t>>& identical,
                                                  int32_t c_empty) {
  if (identical.size() != gold.samples.size()) throw InputError("gold_through_alignment: one flag list per sample");
  std::vector<DcuPrediction> out;
  for (size_t k = 0; k < gold.samples.size(); ++k) {
    const ProbeSample& s = gold.samples[k];
    if (identical[k].size() != s.d.size()) throw InputError("gold_through_alignment: flags do not match the sample");
    DcuPrediction p;
    p.d.assign(s.d.begin(), s.d.end());
    p.c = s.c, p.u = s.u;
    for (size_t i = 0; i < s.d.size(); ++i)
      if (identical[k][i]) {
        p.d[i] = 0;  // gold d >= 1 everywhere else: the tied pair is split last, as a probe must
        p.c[i] = c_empty >= 0 ? c_empty : 0;
      }
    out.push_back(std::move(p));
  }
  return out;
}

namespace {

template <class Get>
int32_t majority(const ProbeDataset& ds, Get get) {
  std::map<int32_t, int64_t> count;
  for (const ProbeSample& s : ds.samples)
    for (int32_t id : get(s)) ++count[id];
  int32_t best = 0;
  int64_t n = -1;
  for (const auto& [id, c] : count)
    if (c > n) best = id, n = c;
  return best;
}

}  // namespace

int32_t majority_c(const ProbeDataset& ds) {
  return majority(ds, [](const ProbeSample& s) -> const std::vector<int32_t>& { return s.c; });
}
int32_t majority_u(const ProbeDataset& ds) {
  return majority(ds, [](const ProbeSample& s) -> const std::vector<int32_t>& { return s.u; });
}

std::vector<BaselineScore> label_baselines(const ProbeDataset& train, const ProbeDataset& test, const DecodeVocab& vocab,
                                           const std::vector<uint64_t>& seeds) {
  auto score = [&](BaselineScore& b, const std::vector<DcuPrediction>& pred) {
    const AstProbeMetrics m = evaluate_predictions(pred, test, vocab);
    b.f1_macro.push_back(m.macro.f1), b.f1_micro.push_back(m.micro.f1), b.n_snippets = m.n_snippets;
  };
  std::vector<BaselineScore> out(3);
  out[0].name = "right_branching_majority";
  score(out[0], right_branching(test, false, majority_c(train), majority_u(train)));
  out[1].name = "right_branching_gold";
  score(out[1], right_branching(test, true));
  out[2].name = "random_d_gold";
  for (uint64_t s : seeds) score(out[2], random_d(test, s));
  return out;
}

BaselineScore alignment_cap(const ProbeDataset& test, const std::vector<std::vector<uint8_t>>& identical,
                            const DecodeVocab& vocab, int layer) {
  BaselineScore b;
  b.name = "gold_through_alignment";
  b.layer = layer;
  const AstProbeMetrics m = evaluate_predictions(gold_through_alignment(test, identical, vocab.c.empty_id), test, vocab);
  b.f1_macro = {m.macro.f1}, b.f1_micro = {m.micro.f1}, b.n_snippets = m.n_snippets;
  for (const auto& f : identical) {
    b.n_pairs += static_cast<int64_t>(f.size());
    for (uint8_t x : f) b.identical_pairs += x;
  }
  return b;
}

}  // namespace ps::probes
