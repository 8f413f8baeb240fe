// Probe hygiene (issue 15), each on data with a planted answer: the step budget trains a small train
// set that one pass per epoch leaves untrained; scale normalization rescues a small-norm layer; the
// plateau scheduler cuts only after epochs without improvement; a fit stopped by the epoch cap is
// flagged; every loss term sits beside its prior; argmax ties go to <empty>; the baselines.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sys/wait.h>
#include <algorithm>

#include "tests/common/scratch.h"

#include "models/util/error.h"
#include "planted.h"
#include "probes/ast_probe.h"
#include "probes/baselines.h"
#include "probes/fit_loop.h"
#include "probes/linear.h"
#include "probes/metrics.h"
#include "probes/normalize.h"
#include "probes/results.h"

using namespace ps::probes;

namespace {

ProbeDataset planted_ds(int n, uint64_t seed, double scale = 1.0, bool noise = false) {
  planted::PlantedOptions o;
  o.n_samples = n;
  o.seed = seed;
  o.pure_noise = noise;
  ProbeDataset ds = planted::planted_dataset(o);
  for (auto& s : ds.samples)
    for (auto& x : s.vectors) x = static_cast<float>(x * scale);
  return ds;
}

AstProbeConfig config() {
  AstProbeConfig c;
  c.rank = 32;
  c.seed = 3;
  c.threads = 1;
  return c;
}

double test_f1(const AstProbeFit& fit, const ProbeDataset& test) {
  const DecodeVocab v = planted::planted_vocab();
  return evaluate_predictions(predict_ast_probe(fit.model, test, v), test, v).macro.f1;
}

}  // namespace

TEST(FitLoop, BatchStreamRevisitsASmallTrainSetWithFreshPermutations) {
  Rng rng(5);
  BatchStream s(10, 4, rng);
  EXPECT_EQ(s.epoch_steps(0), 3);  // one pass: 4 + 4 + 2
  EXPECT_EQ(s.epoch_steps(7), 7);
  std::vector<size_t> sizes;
  std::vector<std::multiset<int>> passes(1);
  for (int i = 0; i < 9; ++i) {
    const std::vector<int> b = s.next();
    sizes.push_back(b.size());
    for (int x : b) passes.back().insert(x);
    if (passes.back().size() == 10) passes.emplace_back();
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{4, 4, 2, 4, 4, 2, 4, 4, 2}));
  ASSERT_EQ(passes.size(), 4u);
  for (int p = 0; p < 3; ++p)
    for (int x = 0; x < 10; ++x) EXPECT_EQ(passes[p].count(x), 1u) << "pass " << p << " is not a permutation";
  // One-pass epochs draw exactly the permutations the classic loop drew.
  Rng a(9), b(9);
  BatchStream one(10, 4, a);
  for (int e = 0; e < 2; ++e) {
    std::vector<int> seen;
    const int64_t steps = one.epoch_steps(0);
    for (int64_t k = 0; k < steps; ++k)
      for (int x : one.next()) seen.push_back(x);
    EXPECT_EQ(seen, b.permutation(10));
  }
}

// PyTorch's ReduceLROnPlateau(factor 0.1, patience 0), which the reference steps once per epoch: an
// improving epoch never cuts, each epoch without improvement (rel. threshold 1e-4) cuts once.
TEST(FitLoop, PlateauSchedulerCutsOnlyAfterEpochsWithoutImprovement) {
  PlateauScheduler s(1e-3, 0.1, 0);
  for (double v : {5.0, 4.0, 3.0, 2.0}) EXPECT_DOUBLE_EQ(s.step(v), 1e-3);
  EXPECT_DOUBLE_EQ(s.step(2.0), 1e-4);           // no improvement
  EXPECT_DOUBLE_EQ(s.step(1.99999), 1e-5);       // below the relative threshold: still no improvement
  EXPECT_DOUBLE_EQ(s.step(1.5), 1e-5);           // improvement: no cut
  EXPECT_DOUBLE_EQ(s.step(1.4), 1e-5);
  PlateauScheduler p2(1.0, 0.5, 2);               // patience 2: the third bad epoch cuts
  p2.step(1.0);
  EXPECT_DOUBLE_EQ(p2.step(1.0), 1.0);
  EXPECT_DOUBLE_EQ(p2.step(1.0), 1.0);
  EXPECT_DOUBLE_EQ(p2.step(1.0), 0.5);
}

TEST(Normalize, StatisticsComeFromTheTrainRowsOnly) {
  const std::vector<float> train = {1, -3, 3, 1, -1, 3};  // 3 rows × 2: mean square (1+9+9+1+1+9)/6 = 5
  std::vector<float> other = {100, 100};
  const Normalization s = fit_normalization(NormalizeMode::scale, {&train}, 2);
  ASSERT_EQ(s.scale.size(), 1u);
  EXPECT_NEAR(s.scale[0], 1 / std::sqrt(5.0), 1e-6);
  std::vector<float> t = train;
  s.apply(t, 2);
  double ms = 0;
  for (float x : t) ms += x * x;
  EXPECT_NEAR(ms / 6, 1.0, 1e-6);
  s.apply(other, 2);  // other rows are mapped, never measured
  EXPECT_NEAR(other[0], 100 / std::sqrt(5.0), 1e-4);

  const Normalization z = fit_normalization(NormalizeMode::standardize, {&train}, 2);
  t = train;
  z.apply(t, 2);
  for (int j = 0; j < 2; ++j) {
    double m = 0, v = 0;
    for (int r = 0; r < 3; ++r) m += t[r * 2 + j];
    for (int r = 0; r < 3; ++r) v += t[r * 2 + j] * t[r * 2 + j];
    EXPECT_NEAR(m / 3, 0.0, 1e-6);
    EXPECT_NEAR(v / 3, 1.0, 1e-5);
  }
  const std::vector<float> constant = {2, 2, 2, 2};  // zero variance: scale 1, not inf
  EXPECT_EQ(fit_normalization(NormalizeMode::standardize, {&constant}, 2).scale, (std::vector<float>{1, 1}));
  EXPECT_TRUE(fit_normalization(NormalizeMode::none, {&train}, 2).identity());
  EXPECT_THROW(parse_normalize("unit"), ps::InputError);
  std::vector<float> wrong(3);
  EXPECT_THROW(z.apply(wrong, 3), ps::InputError);
}

// A layer with small norms (here the planted vectors × 0.02): Adam moves each weight by ~lr per step,
// so on raw vectors the probe barely starts in a fixed budget; unit RMS per coordinate fixes it.
TEST(AstProbeHygiene, ScaleNormalizationRescuesASmallNormLayer) {
  ProbeDataset train = planted_ds(150, 11, 0.02), valid = planted_ds(50, 12, 0.02), test = planted_ds(80, 13, 0.02);
  AstProbeConfig c = config();
  c.steps_per_epoch = 40, c.max_epochs = 6;
  const double raw = test_f1(train_ast_probe(train, valid, c), test);
  std::vector<const std::vector<float>*> rows;
  for (const auto& s : train.samples) rows.push_back(&s.vectors);
  const Normalization n = fit_normalization(NormalizeMode::scale, rows, train.dim);
  for (ProbeDataset* d : {&train, &valid, &test})
    for (auto& s : d->samples) n.apply(s.vectors, d->dim);
  const double scaled = test_f1(train_ast_probe(train, valid, c), test);
  std::printf("[ normalize ] small-norm layer: F1 %.4f raw, %.4f scaled (scale %.3g)\n", raw, scaled, n.scale[0]);
  EXPECT_GT(scaled, 0.85);
  EXPECT_LT(raw, scaled - 0.3);
}

// 40 train snippets are 2 batches: 8 one-pass epochs are 16 Adam steps; 8 epochs of 50 steps learn.
TEST(AstProbeHygiene, StepBudgetTrainsASmallTrainSet) {
  const ProbeDataset train = planted_ds(40, 21), valid = planted_ds(40, 22), test = planted_ds(80, 23);
  AstProbeConfig c = config();
  c.max_epochs = 8;
  c.steps_per_epoch = 0;
  const AstProbeFit pass = train_ast_probe(train, valid, c);
  c.steps_per_epoch = 50;
  const AstProbeFit steps = train_ast_probe(train, valid, c);
  const double a = test_f1(pass, test), b = test_f1(steps, test);
  std::printf("[ steps ] 40 train snippets: F1 %.4f with one pass per epoch, %.4f with 50 steps per epoch\n", a, b);
  EXPECT_EQ(pass.history.at(0).steps, 2);
  EXPECT_EQ(steps.history.at(0).steps, 50);
  EXPECT_GT(b, 0.85);
  EXPECT_LT(a, b - 0.3);
}

TEST(AstProbeHygiene, TheEpochCapIsFlaggedAndEveryTermSitsBesideItsPrior) {
  const ProbeDataset train = planted_ds(120, 31), valid = planted_ds(40, 32);
  AstProbeConfig c = config();
  c.lr = 1e-2, c.steps_per_epoch = 0, c.max_epochs = 2;  // still improving at the cap
  const AstProbeFit capped = train_ast_probe(train, valid, c);
  EXPECT_EQ(capped.best_epoch, 2);
  EXPECT_FALSE(capped.converged);
  // Vectors of pure noise overfit at once: early stopping ends the fit well before the cap.
  c.max_epochs = 40, c.early_stop_patience = 2, c.steps_per_epoch = 20;
  const AstProbeFit noise = train_ast_probe(planted_ds(40, 33, 1.0, true), planted_ds(40, 34, 1.0, true), c);
  EXPECT_LT(static_cast<int>(noise.history.size()), 40);
  EXPECT_LT(noise.best_epoch, 40);
  EXPECT_TRUE(noise.converged);

  c.max_epochs = 5;
  const AstProbeFit stopped = train_ast_probe(train, valid, c);

  // Priors: the entropy of the train labels, counted here independently.
  std::map<int32_t, double> cc, uc;
  double nc = 0, nu = 0;
  for (const auto& s : train.samples) {
    for (int32_t x : s.c) ++cc[x], ++nc;
    for (int32_t x : s.u) ++uc[x], ++nu;
  }
  double hc = 0, hu = 0;
  for (const auto& [id, n] : cc) hc -= n / nc * std::log(n / nc);
  for (const auto& [id, n] : uc) hu -= n / nu * std::log(n / nu);
  ASSERT_EQ(stopped.best_terms.size(), 3u);
  EXPECT_EQ(stopped.best_terms[0].name, "d");
  EXPECT_DOUBLE_EQ(stopped.best_terms[0].prior, 1.0);
  EXPECT_EQ(stopped.best_terms[1].name, "c");
  EXPECT_NEAR(stopped.best_terms[1].prior, hc, 1e-9);
  EXPECT_EQ(stopped.best_terms[2].name, "u");
  EXPECT_NEAR(stopped.best_terms[2].prior, hu, 1e-9);
  // A fitted probe on planted data beats every prior; the terms add up to the validation loss.
  for (const LossTerm& t : stopped.best_terms) EXPECT_LT(t.value, t.prior) << t.name;
  EXPECT_NEAR(stopped.best_terms[0].value + stopped.best_terms[1].value + stopped.best_terms[2].value,
              stopped.best_valid_loss, 1e-9);
  const std::string line = format_terms(stopped.history.back().valid_terms);
  EXPECT_NE(line.find("c "), std::string::npos);
  EXPECT_NE(line.find("(prior "), std::string::npos) << line;
}

// Two words with identical vectors: d̂ = 0 and every c score exactly 0. The tie must go to <empty>,
// not to label 0.
TEST(AstProbeHygiene, ExactArgmaxTiesGoToEmpty) {
  ProbeDataset ds = planted_ds(5, 41);
  for (auto& s : ds.samples)  // words 2 and 3 identical
    for (int j = 0; j < ds.dim; ++j) s.vectors[3 * ds.dim + j] = s.vectors[2 * ds.dim + j];
  const AstProbeModel m = init_ast_probe(ds.dim, 8, 6, 4, 1);
  const auto plain = predict_ast_probe(m, ds), pref = predict_ast_probe(m, ds, 64, 4, -1);
  for (size_t i = 0; i < ds.samples.size(); ++i) {
    EXPECT_EQ(plain[i].d[2], 0.0);
    EXPECT_EQ(plain[i].c[2], 0);  // lowest id without a preference
    EXPECT_EQ(pref[i].c[2], 4);   // the <empty> id when given
    for (size_t j = 0; j < plain[i].c.size(); ++j)
      if (j != 2) EXPECT_EQ(plain[i].c[j], pref[i].c[j]) << "a position without a tie changed";
    EXPECT_EQ(plain[i].u, pref[i].u);
  }
}

TEST(Baselines, TrivialTreesAndTheAlignmentCapOnPlantedGold) {
  const DecodeVocab v = planted::planted_vocab();
  const ProbeDataset train = planted_ds(100, 51), test = planted_ds(60, 52);
  auto f1 = [&](const std::vector<DcuPrediction>& p) { return evaluate_predictions(p, test, v).macro.f1; };
  // Gold through an alignment without shared vectors is the gold tree.
  std::vector<std::vector<float>> vec;
  std::vector<int> n;
  for (const auto& s : test.samples) vec.push_back(s.vectors), n.push_back(s.n_words);
  auto ident = identical_adjacent(vec, n, test.dim);
  for (const auto& f : ident)
    for (uint8_t x : f) EXPECT_EQ(x, 0);
  EXPECT_DOUBLE_EQ(alignment_cap(test, ident, v, 3).f1_macro.at(0), 1.0);
  // Duplicate word 1 into word 2 of every snippet whose split there is labelled: the cap drops below 1,
  // and bitwise-identical is what counts (one ulp apart is not tied).
  int tied = 0;
  for (size_t k = 0; k < vec.size(); ++k) {
    std::copy(vec[k].begin() + test.dim, vec[k].begin() + 2 * test.dim, vec[k].begin() + 2 * test.dim);
    tied += test.samples[k].c[1] != v.c.empty_id;
  }
  vec[0][2 * test.dim] = std::nextafter(vec[0][2 * test.dim], 1e9f);
  ident = identical_adjacent(vec, n, test.dim);
  EXPECT_EQ(ident[0][1], 0);
  EXPECT_EQ(ident[1][1], 1);
  const BaselineScore cap = alignment_cap(test, ident, v, 3);
  EXPECT_EQ(cap.identical_pairs, static_cast<int64_t>(vec.size()) - 1);
  ASSERT_GT(tied, 5);
  EXPECT_LT(cap.f1_macro.at(0), 0.995);
  EXPECT_GT(cap.f1_macro.at(0), 0.8);
  // Right-branching with gold labels scores 1 on right-branching gold trees, majority labels do not.
  ProbeDataset rb = test;
  for (auto& s : rb.samples)
    for (int i = 0; i + 1 < s.n_words; ++i) s.d[i] = s.n_words - 1 - i;
  EXPECT_DOUBLE_EQ(evaluate_predictions(right_branching(rb, true), rb, v).macro.f1, 1.0);
  const double rb_gold = f1(right_branching(test, true));
  const double rb_major = f1(right_branching(test, false, majority_c(train), majority_u(train)));
  EXPECT_LT(rb_major, rb_gold);
  // Random d: seeded, and below the gold d with the same labels.
  EXPECT_DOUBLE_EQ(f1(random_d(test, 1)), f1(random_d(test, 1)));
  EXPECT_NE(f1(random_d(test, 1)), f1(random_d(test, 2)));
  EXPECT_LT(f1(random_d(test, 1)), 0.9);
  const auto all = label_baselines(train, test, v, {1, 2, 3});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].name, "right_branching_majority");
  EXPECT_DOUBLE_EQ(all[0].f1_macro.at(0), rb_major);
  EXPECT_DOUBLE_EQ(all[1].f1_macro.at(0), rb_gold);
  EXPECT_EQ(all[2].f1_macro.size(), 3u);
  std::printf("[ baselines ] planted: right-branching majority %.4f, gold labels %.4f, random d %.4f, cap %.4f\n",
              rb_major, rb_gold, all[2].f1_macro[0], cap.f1_macro[0]);
}

// Layer and k are chosen on validation; the test value is the one at that choice, not the test maximum.
TEST(Results, LayerAndKAreChosenOnValidation) {
  std::vector<ResultRow> rows;
  auto add = [&](int layer, int k, uint64_t seed, double valid, double test) {
    ResultRow r;
    r.model = "m", r.language = "py", r.layer = layer, r.k = k, r.seed = seed;
    r.values = {{"valid_f1_macro", valid}, {"f1_macro", test}};
    rows.push_back(r);
  };
  add(1, 64, 1, 0.50, 0.70), add(1, 64, 2, 0.52, 0.72);  // best on test
  add(2, 64, 1, 0.60, 0.40), add(2, 64, 2, 0.62, 0.44);  // best on validation
  const auto c = select_on_validation(rows, "f1_macro");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].layer, 2);
  EXPECT_NEAR(c[0].valid_mean, 0.61, 1e-12);
  EXPECT_NEAR(c[0].test_mean, 0.42, 1e-12);
  EXPECT_NEAR(c[0].test_std, std::sqrt(2 * 0.02 * 0.02 / 1), 1e-12);  // sample std of 0.40, 0.44
  EXPECT_EQ(c[0].n_seeds, 2);
}

// The CLI face (build/app/cli/probescope, built with everything: script/test builds it first).
namespace {
std::string run_cli(const std::string& args, int& status) {
  const std::string cmd = std::string(PS_BINARY_DIR) + "/app/cli/probescope " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (p && fgets(buf, sizeof buf, p)) out += buf;
  const int st = p ? pclose(p) : -1;
  status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}
}  // namespace

TEST(ProbeCli, NewFlagsAreExplainedAndABadModeIsOneLine) {
  int status = 0;
  const std::string help = run_cli("probe ast --help", status);
  EXPECT_EQ(status, 0) << help;
  for (const char* flag : {"--normalize", "--steps-per-epoch", "standardize", "625", "converged"})
    EXPECT_NE(help.find(flag), std::string::npos) << flag << "\n" << help;
  const std::string dir = ps::test::scratch_dir("cli").string();
  const std::string bad = run_cli("probe ast --store " + dir + "/none.h5 --out " + dir + "/o --normalize unit", status);
  EXPECT_EQ(status, 2) << bad;
  EXPECT_NE(bad.find("--normalize"), std::string::npos) << bad;
  EXPECT_EQ(std::count(bad.begin(), bad.end(), '\n'), 1) << bad;
  const std::string id = run_cli("id --help", status);
  EXPECT_NE(id.find("--normalize"), std::string::npos) << id;
}

TEST(ProbeFiles, NormalizationRoundTripsAndInconsistentStatisticsAreRefused) {
  const std::string dir = ps::test::scratch_dir("norm_files").string();
  SavedLinearProbe l;
  l.probe.dim = 3, l.probe.n_labels = 2;
  l.probe.W.assign(6, 0.5f), l.probe.b.assign(2, 0.0f);
  l.norm.mode = NormalizeMode::scale, l.norm.scale = {2.5f};
  save_linear_probe(dir + "/l.safetensors", l);
  const SavedLinearProbe back = load_linear_probe(dir + "/l.safetensors");
  EXPECT_EQ(back.norm.mode, NormalizeMode::scale);
  EXPECT_EQ(back.norm.scale, (std::vector<float>{2.5f}));
  EXPECT_TRUE(back.norm.shift.empty());
  l.norm.mode = NormalizeMode::standardize;  // standardize needs dim values of both
  EXPECT_THROW(save_linear_probe(dir + "/bad.safetensors", l), ps::InputError);
  l.norm = Normalization{};
  save_linear_probe(dir + "/none.safetensors", l);
  EXPECT_TRUE(load_linear_probe(dir + "/none.safetensors").norm.identity());
}
