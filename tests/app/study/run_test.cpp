// Tiny studies run end to end by the local executor through the real probescope executable: results, reruns
// that skip finished work, a changed setting that reruns only its dependants, a failing task, and collect's
// checks on the joined grid.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "app/study/collect.h"
#include "app/study/executor.h"
#include "app/study/task_state.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "probes/results.h"
#include "tests/app/study/study_fixture.h"
#include "tests/common/process.h"

namespace ps::study {
namespace {

using namespace ps::study::testing;
namespace fs = std::filesystem;

const std::string kTail = R"TOML(
[id]
max_points = 200
ci_reps = 2

[[figure]]
name = "f1"
per_language = true
args = ["--csv", "{probe_summary}", "--x", "layer", "--y", "f1_macro_mean", "--group", "model", "--where", "task=real", "--format", "svg"]

[report]
trained = "trained"
random = ["random"]
figures = ["f1=F1 by layer ({language})"]
)TOML";

std::string study_body(const std::string& k_list) {
  return probe_block("layers", "k = [4]\nseeds = [1, 2]\ntasks = 2") +
         probe_block("k", "layers = \"best:layers\"\nk = " + k_list) + kTail;
}

RunReport run_local(const Plan& p) {
  ExecutorOptions o;
  o.jobs = 2;
  o.threads = 2;
  return make_executor("local")->run(p, o);
}

std::string ids_run(const RunReport& r) {
  std::string s;
  for (const auto& t : r.tasks)
    if (t.state == TaskState::done && t.message.empty()) s += t.id + " ";
  return s;
}

TEST(StudyRun, EndToEndThenRerunSkipsThenOneChangedSettingRerunsItsDependants) {
  auto s = write_tiny_study("run_e2e", study_body("[2, 4]"));
  const Plan p = plan_of(s);
  const RunReport first = run_local(p);
  ASSERT_TRUE(first.ok()) << first.summary();
  EXPECT_EQ(first.done, static_cast<int>(p.task_count()));
  for (const auto& st : p.stages)
    for (const auto& t : st.tasks) {
      EXPECT_TRUE(task_done(t)) << t.id;
      EXPECT_EQ(read_task_state(p, t).state, TaskState::done) << t.id;
      EXPECT_TRUE(fs::exists(t.log)) << t.log;
    }
  // The results: one report of every language, the collected summary with both models, a figure.
  const std::string report = ps::read_file(p.results_dir + "/report.md");
  EXPECT_NE(report.find("## python"), std::string::npos) << report;
  EXPECT_NE(report.find("figures/f1_python.png"), std::string::npos);
  EXPECT_TRUE(fs::exists(p.results_dir + "/figures/f1_python.svg"));
  EXPECT_TRUE(fs::exists(p.results_dir + "/python/id/id.csv"));
  // Collected rows: the layer sweep's two slices, plus the k sweep at the best layer without its k = 4 seed-1
  // cell, which the layer sweep already fitted with the same settings (kept once).
  size_t slice_rows = 0;
  for (const auto& t : p.stage("probe.layers").tasks) slice_rows += ps::probes::read_results(t.output + "/results.json").size();
  EXPECT_EQ(slice_rows % 4, 0u);
  EXPECT_GE(slice_rows, 12u);
  const auto joined = ps::probes::read_results(p.task("collect", 0).output + "/all/results.json");
  EXPECT_EQ(joined.size(), slice_rows + 2);
  // The k sweep ran at the layer the layer sweep found best on validation.
  for (const auto& t : p.stage("probe.k").tasks) {
    const auto rows = ps::probes::read_results(t.output + "/results.json");
    ASSERT_EQ(rows.size(), 2u);
    std::map<int, std::pair<double, int>> valid;
    for (const auto& r : joined)
      if (r.model == rows[0].model && r.k == 4 && r.seed <= 2 && !r.control) {
        bool from_layers = false;
        for (const auto& lt : p.stage("probe.layers").tasks)
          for (const auto& lr : ps::probes::read_results(lt.output + "/results.json"))
            from_layers = from_layers || (lr.model == r.model && lr.layer == r.layer && lr.k == r.k && lr.seed == r.seed);
        if (from_layers) valid[r.layer].first += r.value("valid_f1_macro"), valid[r.layer].second++;
      }
    int best = -1;
    double bm = 0;
    for (const auto& [l, v] : valid)
      if (best < 0 || v.first / v.second > bm) best = l, bm = v.first / v.second;
    EXPECT_EQ(rows[0].layer, best) << t.id;
  }

  // Rerun: everything is done; nothing runs, and exec-task on a done task returns at once without logging.
  const auto log_size = fs::file_size(p.task("extract", 0).log);
  const RunReport again = run_local(plan_of(s));
  EXPECT_TRUE(again.ok());
  EXPECT_EQ(again.done, 0);
  EXPECT_EQ(again.skipped, static_cast<int>(p.task_count()));
  EXPECT_EQ(exec_task(p.dir, "extract", 0), 0);
  EXPECT_EQ(fs::file_size(p.task("extract", 0).log), log_size);

  // One probe setting changed: only that probe's tasks and what reads them run.
  rewrite_study(s, study_body("[2, 8]"));
  const RunReport changed = run_local(plan_of(s));
  ASSERT_TRUE(changed.ok()) << changed.summary();
  EXPECT_EQ(ids_run(changed),
            "probe.k/trained.python.t0 probe.k/random.python.t0 collect/probes figures/f1_python report/python publish/results ");
  EXPECT_EQ(changed.skipped, static_cast<int>(p.task_count()) - 6);
}

TEST(StudyRun, AFailingTaskIsReportedWithItsLogAndItsDependantsDoNotRun) {
  // Layer 9 of a 2-layer model: both probe tasks fail; collect, the figure and the reports must not run.
  auto s = write_tiny_study("run_fail", probe_block("bad", "k = [4]\nlayers = \"9\"") + kTail);
  const Plan p = plan_of(s);
  const RunReport r = run_local(p);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.failed, 2);
  EXPECT_EQ(r.cancelled, 4);  // collect, figure, report, publish
  for (const auto& t : r.tasks) {
    if (t.stage == "extract" || t.stage == "id") {
      EXPECT_EQ(t.state, TaskState::done) << t.id;
    }
    if (t.stage == "probe.bad") {
      EXPECT_EQ(t.state, TaskState::failed) << t.id;
      EXPECT_NE(ps::read_file(t.log).find("probescope probe ast:"), std::string::npos) << ps::read_file(t.log);
      EXPECT_NE(r.summary().find("failed: " + t.id + " (exit 2); log: " + t.log), std::string::npos) << r.summary();
    }
    if (t.stage == "collect" || t.stage == "figures" || t.stage == "report" || t.stage == "publish") {
      EXPECT_EQ(t.state, TaskState::cancelled) << t.id;
      EXPECT_FALSE(fs::exists(t.log)) << t.id << " ran";
      EXPECT_EQ(read_task_state(p, *p.find_task(t.id)).state, TaskState::cancelled);
    }
  }
  // The CLI says the same and exits non-zero; status names the failed tasks' logs.
  const std::string log = s.dir + "/cli.log";
  EXPECT_EQ(ps::test::wait_exit(ps::test::spawn({probescope(), "study", "run", s.file, "--out", s.out}, log)), 1);
  const std::string text = ps::read_file(log);
  EXPECT_NE(text.find("failed: probe.bad/trained.python.t0 (exit 2); log: " + p.task("probe.bad", 0).log), std::string::npos)
      << text;
  EXPECT_EQ(ps::test::wait_exit(ps::test::spawn({probescope(), "study", "exec-task", s.out, "--stage", "collect", "--index", "0"},
                                                s.dir + "/exec.log")),
            1);  // a dependency is not done: refused, nothing run
  EXPECT_NE(ps::read_file(s.dir + "/exec.log").find("dependency probe.bad/"), std::string::npos);
}

TEST(StudyRun, CollectFailsOnAMissingAndOnADuplicatedCell) {
  auto s = write_tiny_study("run_collect", probe_block("layers", "k = [4]\nseeds = [1, 2]\ntasks = 2\nmodels = [\"trained\"]"));
  const Plan p = plan_of(s);
  ASSERT_TRUE(run_local(p).ok());
  const std::string out = s.dir + "/collected";
  EXPECT_GT(collect(p, out), 0u);
  const std::string f0 = p.task("probe.layers", 0).output + "/results.json";
  const std::string f1 = p.task("probe.layers", 1).output + "/results.json";
  const std::string keep0 = ps::read_file(f0), keep1 = ps::read_file(f1);
  auto doc0 = nlohmann::json::parse(keep0), doc1 = nlohmann::json::parse(keep1);
  const nlohmann::json lost = doc0["rows"].back();
  // Missing: slice 0 lost one of its cells.
  doc0["rows"].erase(doc0["rows"].size() - 1);
  ps::write_file_atomic(f0, doc0.dump());
  try {
    collect(p, out);
    ADD_FAILURE() << "collect joined a grid with a missing cell";
  } catch (const ps::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("missing grid cell trained python layer " + std::to_string(lost["layer"].get<int>())),
              std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(f0), std::string::npos) << e.what();
  }
  // Duplicated: slice 1 also holds that cell (in its grid and its rows).
  ps::write_file_atomic(f0, keep0);
  doc1["rows"].push_back(lost);
  doc1["grid"]["cells"].push_back({{"model", lost["model"]}, {"language", lost["language"]}, {"layer", lost["layer"]},
                                   {"k", lost["k"]}, {"seed", lost["seed"]}, {"task", lost["task"]}});
  ps::write_file_atomic(f1, doc1.dump());
  try {
    collect(p, out);
    ADD_FAILURE() << "collect joined a grid with a duplicated cell";
  } catch (const ps::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("duplicated grid cell trained python layer"), std::string::npos) << e.what();
  }
  ps::write_file_atomic(f1, keep1);
  EXPECT_GT(collect(p, out), 0u);
}

// A headline at another budget repeats a quick-grid cell (the best layer, seed 1) with other settings: in the
// study's summary that is a duplicated cell, so it is joined apart, and the report compares from it.
TEST(StudyRun, AHeadlineSummaryIsJoinedApartAndTheReportReadsIt) {
  const std::string headline = "[[probe]]\nname = \"top\"\nlayers = \"best:layers\"\nk = [4]\nseeds = [1]\nepochs = 3\n"
                               "steps_per_epoch = 4\nsplit = \"0.6,0.2,0.2\"\nsummary = \"headline\"\n\n";
  const std::string tail = kTail + "headline = \"headline\"\n";
  auto s = write_tiny_study("run_headline", probe_block("layers", "k = [4]\nseeds = [1]") + headline + tail);
  const Plan p = plan_of(s);
  const RunReport r = run_local(p);
  ASSERT_TRUE(r.ok()) << r.summary();
  const std::string collected = p.task("collect", 0).output;
  size_t layer_rows = 0;
  for (const auto& t : p.stage("probe.layers").tasks) layer_rows += ps::probes::read_results(t.output + "/results.json").size();
  EXPECT_EQ(ps::probes::read_results(collected + "/all/results.json").size(), layer_rows);  // no headline row
  const std::string summary = ps::read_file(collected + "/headline/python/summary.csv");
  EXPECT_NE(summary.find("trained,python,"), std::string::npos) << summary;
  EXPECT_NE(summary.find("random,python,"), std::string::npos) << summary;
  EXPECT_TRUE(fs::exists(p.results_dir + "/headline/python/summary.csv"));
  const std::string report = ps::read_file(p.results_dir + "/report.md");
  EXPECT_NE(report.find("Headline comparison"), std::string::npos) << report;
  // The report's comparison cites the headline's fit of the trained model (epochs 3), not the quick grid's.
  double trained_f1 = -1;
  for (const auto& t : p.stage("probe.top").tasks)
    for (const auto& row : ps::probes::read_results(t.output + "/results.json"))
      if (row.model == "trained" && !row.control) trained_f1 = row.value("f1_macro");
  ASSERT_GE(trained_f1, 0);
  char f1[32];
  std::snprintf(f1, sizeof f1, "%.3f", trained_f1);
  EXPECT_NE(report.find("best AST-Probe F1 is " + std::string(f1)), std::string::npos) << f1 << "\n" << report;
}

// A study whose report names a headline no probe writes is refused at load, naming the key.
TEST(StudyRun, AHeadlineWithoutItsProbesIsRefused) {
  auto s = write_tiny_study("run_headline_bad", probe_block("layers", "k = [4]") + kTail + "headline = \"nope\"\n");
  try {
    plan_of(s);
    ADD_FAILURE() << "a headline without probes was planned";
  } catch (const ps::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("headline: no [[probe]] has summary = 'nope'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ps::study
