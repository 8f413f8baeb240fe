// The sweep from planted stores: the planted layer is recovered, the noise layer is not, the control
// task is worse (selectivity), the files hold the expected rows, and resume skips finished fits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "models/util/error.h"
#include "models/util/files.h"
#include "probes/ast_probe.h"
#include "probes/show.h"
#include "probes/store_data.h"
#include "probes/sweep.h"
#include "store_planted.h"

using namespace ps::probes;

namespace {

// One planted store per test binary run (0.6/0.2/0.2 of 500 snippets ≈ 300/100/100).
const std::string& planted_store() {
  static const std::string path = [] {
    const std::string dir = planted::fresh_dir("sweep_store");
    planted::PlantedStoreOptions o;
    o.n_snippets = 500;
    planted::write_planted_store(dir + "/planted.h5", o);
    return dir + "/planted.h5";
  }();
  return path;
}

SweepOptions base(ProbeKind kind, const std::string& out) {
  SweepOptions o;
  o.kind = kind;
  o.stores = {planted_store()};
  o.out_dir = out;
  o.ks = {32};
  o.seeds = {1};
  o.lr = 1e-2;  // small planted sets get far fewer steps than a 20k-snippet corpus
  o.threads = 1;
  o.steps_per_epoch = 0;  // one pass per epoch: seconds per fit (the step budget has its own tests)
  o.split.train = 0.6, o.split.valid = 0.2, o.split.test = 0.2;
  return o;
}

nlohmann::json rows_of(const std::string& out) {
  return nlohmann::json::parse(ps::read_file(out + "/results.json")).at("rows");
}

const nlohmann::json& row(const nlohmann::json& rows, int layer, const std::string& task, uint64_t seed = 1) {
  for (const auto& r : rows)
    if (r.at("layer") == layer && r.at("task") == task && r.at("seed") == seed) return r;
  throw std::runtime_error("no row for layer " + std::to_string(layer) + " " + task);
}

int count_lines(const std::string& path) {
  std::ifstream f(path);
  int n = 0;
  for (std::string line; std::getline(f, line);) ++n;
  return n;
}

}  // namespace

TEST(ProbeSweep, AstRecoversThePlantedLayerNotTheNoiseLayerAndControlIsWorse) {
  const std::string out = planted::fresh_dir("sweep_ast");
  SweepOptions o = base(ProbeKind::ast, out);
  o.layers = "0,1";
  o.control = true;
  const SweepResult r = run_probe_sweep(o);
  EXPECT_EQ(r.fits_trained, 4);
  const nlohmann::json rows = rows_of(out);
  ASSERT_EQ(rows.size(), 4u);
  const double planted = row(rows, 1, "real")["f1_macro"], noise = row(rows, 0, "real")["f1_macro"];
  const double control = row(rows, 1, "control")["f1_macro"];
  std::printf("[ sweep ] planted layer F1 %.4f (micro %.4f), noise layer F1 %.4f, control F1 %.4f\n", planted,
              row(rows, 1, "real")["f1_micro"].get<double>(), noise, control);
  EXPECT_GE(planted, 0.95);
  EXPECT_GE(row(rows, 1, "real")["f1_micro"].get<double>(), 0.95);
  EXPECT_LT(noise, 0.45);  // trivial right-branching baseline on these trees ≈ 0.2 (test_ast_probe.cpp)
  EXPECT_LT(control, planted - 0.3);
  for (const auto& x : rows) {
    for (const char* k : {"model", "language", "layer", "k", "seed", "task", "f1_macro", "f1_micro", "precision_macro",
                          "recall_macro", "c_accuracy", "u_accuracy", "epochs", "seconds", "per_label_recall", "probe"})
      EXPECT_TRUE(x.contains(k)) << k;
    EXPECT_EQ(x["model"], "planted");
    EXPECT_EQ(x["language"], "python");
    EXPECT_EQ(x["n_test"].get<int>() + x["n_valid"].get<int>() + x["n_train"].get<int>(), 499);
    // The saved probe reproduces the row's F1 on the test split.
    const SavedAstProbe p = load_ast_probe(out + "/" + x["probe"].get<std::string>());
    EXPECT_EQ(p.layer, x["layer"].get<int>());
    EXPECT_EQ(p.model.rank, 32);
    EXPECT_EQ(p.metadata.at("task"), x["task"].get<std::string>());
  }
  EXPECT_TRUE(row(rows, 1, "real")["per_label_recall"].contains("A"));
  EXPECT_EQ(count_lines(r.results_csv), 5);
  // summary: header + (layer 0, 1) × (real, control); selectivity filled on real rows.
  EXPECT_EQ(count_lines(r.summary_csv), 5);
  std::ifstream f(r.summary_csv);
  std::string header, line;
  std::getline(f, header);
  EXPECT_EQ(header.rfind("model,language,layer,k,task,n_seeds,f1_macro_mean,f1_macro_std", 0), 0u) << header;
  int with_sel = 0;
  while (std::getline(f, line)) with_sel += line.find(",real,") != std::string::npos && line.back() != ',';
  EXPECT_EQ(with_sel, 2);
}

TEST(ProbeSweep, ResumeSkipsFinishedFitsAndEqualsAnUninterruptedRun) {
  const std::string a = planted::fresh_dir("sweep_resume_a"), b = planted::fresh_dir("sweep_resume_b");
  SweepOptions o = base(ProbeKind::ast, a);
  o.layers = "1";
  o.seeds = {1, 2, 3};
  o.epochs = 4;
  const SweepResult full = run_probe_sweep(o);
  EXPECT_EQ(full.fits_trained, 3);

  // Interrupted run: cancel once the first fit is logged; that fit is saved, the rest is not.
  ps::Progress progress("probe", 0, "fits", false);
  o.out_dir = b;
  o.progress = &progress;
  int logged = 0;
  o.log = [&](const std::string&) {
    if (++logged == 1) progress.cancel();
  };
  EXPECT_THROW(run_probe_sweep(o), SweepCancelled);
  EXPECT_EQ(rows_of(b).size(), 1u);

  ps::Progress again("probe", 0, "fits", false);
  o.progress = &again;
  const SweepResult resumed = run_probe_sweep(o);
  EXPECT_EQ(resumed.fits_trained, 2);
  EXPECT_EQ(resumed.fits_skipped, 1);
  EXPECT_EQ(again.done(), 3);
  const nlohmann::json ra = rows_of(a), rb = rows_of(b);
  ASSERT_EQ(rb.size(), 3u);
  for (uint64_t seed : {1, 2, 3})
    for (const char* k : {"f1_macro", "f1_micro", "c_accuracy", "u_accuracy", "epochs", "best_valid_loss"})
      EXPECT_EQ(row(ra, 1, "real", seed)[k], row(rb, 1, "real", seed)[k]) << k << " seed " << seed;

  // Same arguments once more: nothing to train, and the layer is not even read.
  const SweepResult noop = run_probe_sweep(o);
  EXPECT_EQ(noop.fits_trained, 0);
  EXPECT_EQ(noop.fits_skipped, 3);
  // More seeds extend the sweep; other settings are refused.
  o.seeds = {1, 2, 3, 4};
  EXPECT_EQ(run_probe_sweep(o).fits_trained, 1);
  o.epochs = 5;
  EXPECT_THROW(run_probe_sweep(o), ps::InputError);
}

TEST(ProbeSweep, StructuralProbesRecoverThePlantedMetric) {
  const std::string out = planted::fresh_dir("sweep_structural");
  SweepOptions o = base(ProbeKind::distance, out);
  o.layers = "0,2";
  o.ks = {0};  // full rank
  run_probe_sweep(o);
  const nlohmann::json rows = rows_of(out);
  const auto& good = row(rows, 2, "real");
  std::printf("[ sweep ] distance: planted UUAS %.4f Spearman %.4f | noise UUAS %.4f\n", good["uuas"].get<double>(),
              good["spearman"].get<double>(), row(rows, 0, "real")["uuas"].get<double>());
  EXPECT_GE(good["uuas"].get<double>(), 0.9);
  EXPECT_GE(good["spearman"].get<double>(), 0.8);
  EXPECT_LT(row(rows, 0, "real")["uuas"].get<double>(), good["uuas"].get<double>() - 0.2);
  // The planted layer's loss beats a constant predictor's (the train median distance) by far.
  EXPECT_LT(good["valid_loss_distance_l1"].get<double>(), 0.5 * good["prior_distance_l1"].get<double>());
  EXPECT_GT(good["valid_uuas"].get<double>(), 0.85);
  o.control = true;
  EXPECT_THROW(run_probe_sweep(o), ps::InputError);  // no control task for distances

  const std::string dout = planted::fresh_dir("sweep_depth");
  o = base(ProbeKind::depth, dout);
  o.layers = "2";
  o.ks = {0};
  o.control = true;
  run_probe_sweep(o);
  const nlohmann::json drows = rows_of(dout);
  const auto& depth = row(drows, 2, "real");
  std::printf("[ sweep ] depth: root acc %.4f Spearman %.4f | control Spearman %.4f\n",
              depth["root_accuracy"].get<double>(), depth["spearman"].get<double>(),
              row(drows, 2, "control")["spearman"].get<double>());
  EXPECT_GE(depth["root_accuracy"].get<double>(), 0.9);
  EXPECT_GE(depth["spearman"].get<double>(), 0.8);
  EXPECT_LT(row(drows, 2, "control")["spearman"].get<double>(), 0.5);
  EXPECT_EQ(load_structural_probe(dout + "/" + depth["probe"].get<std::string>()).probe.rank, 64);
}

TEST(ProbeSweep, LinearProbeReadsULabelsWithHighSelectivity) {
  const std::string out = planted::fresh_dir("sweep_linear");
  SweepOptions o = base(ProbeKind::linear, out);
  o.layers = "1";
  o.ks = {8, 16};  // ignored by the linear probe: one fit per seed
  o.control = true;
  const SweepResult r = run_probe_sweep(o);
  EXPECT_EQ(r.fits_trained, 2);
  const nlohmann::json rows = rows_of(out);
  const double acc = row(rows, 1, "real")["accuracy"], ctrl = row(rows, 1, "control")["accuracy"];
  std::printf("[ sweep ] linear u-label accuracy %.4f, control %.4f, selectivity %.4f\n", acc, ctrl, acc - ctrl);
  EXPECT_GE(acc, 0.95);
  EXPECT_GT(acc - ctrl, 0.4);
  EXPECT_EQ(row(rows, 1, "real")["k"], 0);
}

TEST(ProbeSweep, BadOptionsAreInputErrors) {
  const std::string out = planted::fresh_dir("sweep_bad");
  SweepOptions o = base(ProbeKind::ast, out);
  o.layers = "7";
  EXPECT_THROW(run_probe_sweep(o), ps::InputError);
  o.layers = "1";
  o.ks = {0};
  EXPECT_THROW(run_probe_sweep(o), ps::InputError);
  o.ks = {8};
  o.stores = {planted_store(), planted_store()};  // same model and language twice
  EXPECT_THROW(run_probe_sweep(o), ps::InputError);
  o.stores = {out + "/missing.h5"};
  EXPECT_THROW(run_probe_sweep(o), ps::InputError);
  EXPECT_THROW(parse_kind("tree"), ps::InputError);
  EXPECT_THROW(parse_int_list("1,x", "--k"), ps::InputError);
  EXPECT_EQ(parse_int_list("8,-1", "--k"), (std::vector<int>{8, -1}));
}

// Issue 15's hygiene through the sweep: validation metric, converged, loss terms beside priors, the
// baselines on the store's gold trees, and the normalization saved with the probe and used by show.
TEST(ProbeSweep, RowsCarryValidationConvergenceTermsBaselinesAndTheNormalization) {
  const std::string out = planted::fresh_dir("sweep_hygiene");
  SweepOptions o = base(ProbeKind::ast, out);
  o.layers = "0,1";
  o.seeds = {1, 2};
  o.epochs = 3;
  EXPECT_EQ(o.normalize, NormalizeMode::scale);  // the defaults
  EXPECT_EQ(SweepOptions{}.steps_per_epoch, 625);
  // standardize: a shift changes the u scores, so show without the saved map would decode differently
  // (one positive scale leaves every argmax and the d̂ order unchanged).
  o.normalize = NormalizeMode::standardize;
  const SweepResult r = run_probe_sweep(o);
  const nlohmann::json doc = nlohmann::json::parse(ps::read_file(out + "/results.json"));
  EXPECT_EQ(doc["settings"]["normalize"], "standardize");
  EXPECT_EQ(doc["settings"]["steps_per_epoch"], 0);
  ASSERT_EQ(doc["rows"].size(), 4u);
  for (const auto& x : doc["rows"]) {
    for (const char* k : {"valid_f1_macro", "converged", "max_epochs", "valid_loss_d", "valid_loss_c", "prior_c",
                          "valid_loss_u", "prior_u", "steps_per_epoch"})
      EXPECT_TRUE(x.contains(k)) << k;
    EXPECT_EQ(x["converged"].get<int>(), x["best_epoch"].get<int>() < 3 ? 1 : 0);
    EXPECT_GT(x["prior_c"].get<double>(), 0.5);
  }
  // The planted layer beats the priors and generalises to validation as to test.
  const nlohmann::json& planted_row = row(doc["rows"], 1, "real");
  EXPECT_LT(planted_row["valid_loss_c"].get<double>(), planted_row["prior_c"].get<double>());
  EXPECT_NEAR(planted_row["valid_f1_macro"].get<double>(), planted_row["f1_macro"].get<double>(), 0.1);

  // Baselines: three on the labels (random d once per seed), the cap per layer (1: no shared vectors).
  ASSERT_TRUE(doc.contains("baselines"));
  std::map<std::string, int> names;
  for (const auto& b : doc["baselines"]) {
    ++names[b["baseline"].get<std::string>()];
    if (b["baseline"] == "gold_through_alignment") {
      EXPECT_DOUBLE_EQ(b["f1_macro_mean"].get<double>(), 1.0);
      EXPECT_EQ(b["identical_pairs"].get<int>(), 0);
      EXPECT_GT(b["n_pairs"].get<int>(), 100);
    } else {
      EXPECT_EQ(b["layer"].get<int>(), -1);
      EXPECT_LT(b["f1_macro_mean"].get<double>(), planted_row["f1_macro"].get<double>());
    }
    if (b["baseline"] == "random_d_gold") EXPECT_EQ(b["n_seeds"].get<int>(), 2);
  }
  EXPECT_EQ(names, (std::map<std::string, int>{{"gold_through_alignment", 2},
                                                {"random_d_gold", 1},
                                                {"right_branching_gold", 1},
                                                {"right_branching_majority", 1}}));
  EXPECT_EQ(count_lines(r.baselines_csv), 6);
  std::ifstream sf(r.summary_csv);
  std::string header;
  std::getline(sf, header);
  EXPECT_NE(header.find("valid_f1_macro_mean"), std::string::npos) << header;
  EXPECT_NE(header.find("converged_mean"), std::string::npos) << header;

  // The probe holds the train-split statistics, and probe show applies them: its per-snippet F1 averages
  // to the row's test F1 (without the map the predictions differ).
  const SavedAstProbe p = load_ast_probe(out + "/" + planted_row["probe"].get<std::string>());
  ASSERT_EQ(p.norm.mode, NormalizeMode::standardize);
  ASSERT_EQ(p.norm.scale.size(), 64u);
  ASSERT_EQ(p.norm.shift.size(), 64u);
  const ps::store::StoreReader reader(planted_store());
  const StoreLabels labels = read_store_labels(reader, o.split, LabelOptions{});
  double sum = 0;
  for (int64_t s : labels.snippets[2]) sum += predict_snippet(reader, p, s).prf.f1;
  EXPECT_NEAR(sum / labels.snippets[2].size(), planted_row["f1_macro"].get<double>(), 1e-9);
  SavedAstProbe raw = p;
  raw.norm = Normalization{};
  double raw_sum = 0;
  for (int64_t s : labels.snippets[2]) raw_sum += predict_snippet(reader, raw, s).prf.f1;
  EXPECT_GT(std::abs(raw_sum - sum), 1e-6);

  // Resuming with another normalization would mix settings.
  o.normalize = NormalizeMode::scale;
  EXPECT_THROW(run_probe_sweep(o), ps::InputError);
}
