// AST-Probe on planted data: recovers held-out trees; pure noise stays near a trivial baseline;
// deterministic given a seed; save/load round trip; the label-shuffling control.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>

#include "models/util/error.h"
#include "planted.h"
#include "probes/ast_probe.h"
#include "probes/control.h"
#include "probes/metrics.h"
#include "tests/common/scratch.h"

using namespace ps::probes;

namespace {

struct Splits {
  ProbeDataset train, valid, test;
};

Splits planted_splits(bool noise) {
  planted::PlantedOptions o;
  o.pure_noise = noise;
  o.n_samples = 300;
  o.seed = 11;
  Splits s;
  s.train = planted::planted_dataset(o);
  o.n_samples = 100, o.seed = 12;
  s.valid = planted::planted_dataset(o);
  o.n_samples = 150, o.seed = 13;
  s.test = planted::planted_dataset(o);
  return s;
}

AstProbeConfig small_config() {
  AstProbeConfig c;
  c.rank = 32;
  c.seed = 3;
  c.threads = 1;  // tiny batches: a second OpenMP thread only adds sync cost on a busy machine
  c.lr = 1e-2;  // small planted sets get far fewer steps than a 20k-snippet corpus
  c.steps_per_epoch = 0;  // one pass per epoch keeps these fits to seconds (the budget has its own test)
  return c;
}

// Right-branching tree with the train set's majority labels: what a probe that learned nothing
// about the vectors could output.
std::vector<DcuPrediction> trivial_baseline(const ProbeDataset& train, const ProbeDataset& test) {
  std::map<int32_t, int> cc, uc;
  for (const auto& s : train.samples) {
    for (int32_t c : s.c) ++cc[c];
    for (int32_t u : s.u) ++uc[u];
  }
  auto arg = [](const std::map<int32_t, int>& m) {
    return std::max_element(m.begin(), m.end(), [](auto& a, auto& b) { return a.second < b.second; })->first;
  };
  std::vector<DcuPrediction> out;
  for (const auto& s : test.samples) {
    DcuPrediction p;
    for (int i = 0; i + 1 < s.n_words; ++i) p.d.push_back(s.n_words - i), p.c.push_back(arg(cc));
    p.u.assign(s.n_words, arg(uc));
    out.push_back(p);
  }
  return out;
}

}  // namespace

TEST(AstProbe, RecoversPlantedTreesAndNoiseStaysNearBaseline) {
  const DecodeVocab v = planted::planted_vocab();
  const Splits planted = planted_splits(false);
  const AstProbeFit fit = train_ast_probe(planted.train, planted.valid, small_config());
  const AstProbeMetrics m = evaluate_predictions(predict_ast_probe(fit.model, planted.test), planted.test, v);
  const AstProbeMetrics base = evaluate_predictions(trivial_baseline(planted.train, planted.test), planted.test, v);

  const Splits noise = planted_splits(true);
  const AstProbeFit nfit = train_ast_probe(noise.train, noise.valid, small_config());
  const AstProbeMetrics nm = evaluate_predictions(predict_ast_probe(nfit.model, noise.test), noise.test, v);

  std::printf("[ planted ] macro F1 %.4f micro F1 %.4f c acc %.4f u acc %.4f (best epoch %d of %zu)\n", m.macro.f1,
              m.micro.f1, m.c_accuracy, m.u_accuracy, fit.best_epoch, fit.history.size());
  std::printf("[ noise   ] macro F1 %.4f micro F1 %.4f c acc %.4f u acc %.4f\n", nm.macro.f1, nm.micro.f1,
              nm.c_accuracy, nm.u_accuracy);
  std::printf("[ trivial ] macro F1 %.4f micro F1 %.4f (right-branching, majority labels)\n", base.macro.f1, base.micro.f1);
  EXPECT_GE(m.macro.f1, 0.95);
  EXPECT_GE(m.micro.f1, 0.95);
  EXPECT_LT(nm.macro.f1, base.macro.f1 + 0.1);
  EXPECT_LT(nm.macro.f1, 0.5);
  // Validation loss history is what model selection used.
  double best = 1e300;
  for (const auto& e : fit.history) best = std::min(best, e.valid_loss);
  EXPECT_DOUBLE_EQ(best, fit.best_valid_loss);
  EXPECT_NEAR(ast_probe_loss(fit.model, planted.valid).total(), fit.best_valid_loss, 1e-4);
}

TEST(AstProbe, SameSeedGivesIdenticalResults) {
  planted::PlantedOptions o;
  o.n_samples = 120;
  const ProbeDataset train = planted::planted_dataset(o);
  o.n_samples = 40, o.seed = 2;
  const ProbeDataset valid = planted::planted_dataset(o);
  AstProbeConfig c = small_config();
  c.max_epochs = 3;
  const AstProbeFit a = train_ast_probe(train, valid, c), b = train_ast_probe(train, valid, c);
  EXPECT_EQ(a.model.P, b.model.P);
  EXPECT_EQ(a.model.Vc, b.model.Vc);
  ASSERT_EQ(a.history.size(), b.history.size());
  for (size_t i = 0; i < a.history.size(); ++i) EXPECT_EQ(a.history[i].valid_loss, b.history[i].valid_loss);
  const auto pa = predict_ast_probe(a.model, valid), pb = predict_ast_probe(b.model, valid);
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_EQ(pa[i].d, pb[i].d);
  c.seed = 4;
  EXPECT_NE(train_ast_probe(train, valid, c).model.P, a.model.P);
}

TEST(AstProbe, SaveLoadRoundTripAndBadFiles) {
  SavedAstProbe p;
  p.model = init_ast_probe(16, 4, 6, 4, 9);
  p.vocab = planted::planted_vocab();
  p.layer = 5;
  p.metadata = {{"model", "codebert"}, {"macro_f1", "0.75"}};
  const std::string path = (ps::test::scratch_dir() / "probe_roundtrip.safetensors").string();
  save_ast_probe(path, p);
  const SavedAstProbe q = load_ast_probe(path);
  EXPECT_EQ(q.model.P, p.model.P);
  EXPECT_EQ(q.model.Vc, p.model.Vc);
  EXPECT_EQ(q.model.Vu, p.model.Vu);
  EXPECT_EQ(q.model.rank, 4);
  EXPECT_EQ(q.layer, 5);
  EXPECT_EQ(q.vocab.c.labels, p.vocab.c.labels);
  EXPECT_EQ(q.vocab.u.empty_id, 0);
  EXPECT_EQ(q.vocab.sep, "<sep>");
  EXPECT_EQ(q.metadata, p.metadata);
  EXPECT_THROW(load_ast_probe(path + ".missing"), ps::InputError);
  {
    std::FILE* f = std::fopen(path.c_str(), "r+b");
    ASSERT_TRUE(f);
    std::fputc(0xff, f);  // header length becomes absurd
    std::fclose(f);
  }
  EXPECT_THROW(load_ast_probe(path), ps::InputError);
  p.metadata["ps.layer"] = "x";
  EXPECT_THROW(save_ast_probe(path, p), ps::InputError);
  std::remove(path.c_str());
}

TEST(AstProbe, RejectsInconsistentData) {
  planted::PlantedOptions o;
  o.n_samples = 5;
  ProbeDataset ds = planted::planted_dataset(o);
  ds.samples[2].c.pop_back();
  EXPECT_THROW(train_ast_probe(ds, ds, small_config()), ps::InputError);
  ds = planted::planted_dataset(o);
  ds.samples[1].u[0] = 17;
  EXPECT_THROW(validate(ds, "x"), ps::InputError);
  ds = planted::planted_dataset(o);
  EXPECT_THROW(predict_ast_probe(init_ast_probe(ds.dim + 1, 4, 6, 4, 1), ds), ps::InputError);
}

TEST(AstProbeControl, PermutesLabelsConsistentlyPerTokenType) {
  planted::PlantedOptions o;
  o.n_samples = 60;
  const ProbeDataset ds = planted::planted_dataset(o);
  std::vector<std::vector<int32_t>> types;
  for (const auto& s : ds.samples) {
    std::vector<int32_t> t;
    for (int i = 0; i < s.n_words; ++i) t.push_back((i * 7 + s.n_words) % 5);
    types.push_back(t);
  }
  const ProbeDataset a = shuffle_labels_by_token_type(ds, types, 0, 0, 42);
  const ProbeDataset b = shuffle_labels_by_token_type(ds, types, 0, 0, 42);
  std::map<std::pair<int32_t, int32_t>, int32_t> umap;  // (type, old) → new must be a function
  int changed = 0;
  for (size_t s = 0; s < ds.samples.size(); ++s) {
    EXPECT_EQ(a.samples[s].u, b.samples[s].u);
    EXPECT_EQ(a.samples[s].d, ds.samples[s].d);
    for (size_t i = 0; i < ds.samples[s].u.size(); ++i) {
      const int32_t old = ds.samples[s].u[i], now = a.samples[s].u[i];
      EXPECT_EQ(old == 0, now == 0);  // <empty> stays fixed
      auto [it, fresh] = umap.emplace(std::make_pair(types[s][i], old), now);
      EXPECT_EQ(it->second, now);
      changed += old != now;
    }
    for (size_t i = 0; i < ds.samples[s].c.size(); ++i) EXPECT_EQ(ds.samples[s].c[i] == 0, a.samples[s].c[i] == 0);
  }
  EXPECT_GT(changed, 0);
  // Per type the map is injective (a permutation).
  std::map<std::pair<int32_t, int32_t>, int32_t> inverse;
  for (auto [k, v] : umap) {
    auto [it, fresh] = inverse.emplace(std::make_pair(k.first, v), k.second);
    EXPECT_EQ(it->second, k.second);
  }
  types[0].pop_back();
  EXPECT_THROW(shuffle_labels_by_token_type(ds, types, 0, 0, 42), ps::InputError);
}

// The d term against an independent dense computation in double: per batch of 8 snippets (in order), the mean
// over ordered pairs of one snippet with gold d_i > d_j of relu(1 - (d̂_i - d̂_j)), d̂ = ||P^T(h_{i+1} - h_i)||²;
// then the mean over batches. Pins the pair-by-pair hinge to the padded masked form it replaced.
// Long snippets (100-160 words) take rank_hinge's O(n log n) form; the short ones its pair loop.
class AstProbeDistanceLoss : public testing::TestWithParam<std::pair<int, int>> {};

TEST_P(AstProbeDistanceLoss, EqualsADensePairwiseReference) {
  planted::PlantedOptions o;
  o.n_samples = 40;
  o.min_leaves = GetParam().first, o.max_leaves = GetParam().second;
  const ProbeDataset ds = planted::planted_dataset(o);
  AstProbeConfig c = small_config();
  c.max_epochs = 1;
  const AstProbeModel m = train_ast_probe(ds, ds, c).model;
  const int batch = 8;
  double sum = 0;
  int batches = 0;
  for (size_t b0 = 0; b0 < ds.samples.size(); b0 += batch, ++batches) {
    double hinge = 0;
    int64_t pairs = 0;
    for (size_t s = b0; s < std::min(ds.samples.size(), b0 + batch); ++s) {
      const ProbeSample& x = ds.samples[s];
      std::vector<double> dhat;
      for (int i = 0; i + 1 < x.n_words; ++i) {
        double sq = 0;
        for (int r = 0; r < m.rank; ++r) {
          double t = 0;
          for (int k = 0; k < m.dim; ++k)
            t += (double(x.vectors[(i + 1) * m.dim + k]) - x.vectors[i * m.dim + k]) * m.P[k * m.rank + r];
          sq += t * t;
        }
        dhat.push_back(sq);
      }
      for (size_t i = 0; i < dhat.size(); ++i)
        for (size_t j = 0; j < dhat.size(); ++j)
          if (x.d[i] > x.d[j]) ++pairs, hinge += std::max(0.0, 1.0 - (dhat[i] - dhat[j]));
    }
    sum += pairs ? hinge / pairs : 0;
  }
  const double reference = sum / batches;
  EXPECT_GT(reference, 0.01);  // the probe after one epoch still violates margins: the test is not vacuous
  EXPECT_NEAR(ast_probe_loss(m, ds, batch).d, reference, 1e-4 * std::max(1.0, reference));
}

INSTANTIATE_TEST_SUITE_P(ShortAndLong, AstProbeDistanceLoss, testing::Values(std::pair{10, 30}, std::pair{100, 160}));

// bf16 for the projection: the planted trees come back as well as in fp32; `automatic` gives a usable
// fit whichever it picks (the pick depends on this CPU and its load, so it is not asserted).
TEST(AstProbe, Bf16ProjectionRecoversPlantedTreesLikeFp32) {
  const DecodeVocab v = planted::planted_vocab();
  const Splits planted = planted_splits(false);
  AstProbeConfig c = small_config();
  const AstProbeFit f32 = train_ast_probe(planted.train, planted.valid, c);
  c.bf16 = AstProbeConfig::Bf16::on;
  const AstProbeFit bf = train_ast_probe(planted.train, planted.valid, c);
  EXPECT_FALSE(f32.bf16);
  EXPECT_TRUE(bf.bf16);
  const double f1_32 = evaluate_predictions(predict_ast_probe(f32.model, planted.test), planted.test, v).macro.f1;
  const double f1_bf = evaluate_predictions(predict_ast_probe(bf.model, planted.test), planted.test, v).macro.f1;
  std::printf("[ bf16 ] macro F1 %.4f (fp32 %.4f), best valid loss %.4f (fp32 %.4f)\n", f1_bf, f1_32,
              bf.best_valid_loss, f32.best_valid_loss);
  EXPECT_GE(f1_bf, 0.95);
  EXPECT_NEAR(f1_bf, f1_32, 0.03);
  EXPECT_NEAR(bf.best_valid_loss, f32.best_valid_loss, 0.05 * f32.best_valid_loss + 0.01);
  c.bf16 = AstProbeConfig::Bf16::automatic;
  c.max_epochs = 2;
  const AstProbeFit au = train_ast_probe(planted.train, planted.valid, c);
  EXPECT_EQ(au.history.size(), 2u);
  EXPECT_TRUE(std::isfinite(au.best_valid_loss));
}
