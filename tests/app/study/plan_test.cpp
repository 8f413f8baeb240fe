// Plan expansion: stage order, task counts, and content hashes that are stable and change for exactly the
// tasks whose settings or inputs changed.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "app/study/expand.h"
#include "app/study/schema.h"
#include "models/util/files.h"
#include "tests/app/study/study_fixture.h"
#include "tests/common/scratch.h"

namespace ps::study {
namespace {

using namespace ps::study::testing;

const char* kExtras = R"TOML(
[id]
max_points = 200
ci_reps = 2

[[figure]]
name = "f1"
per_language = true
args = ["--csv", "{probe_summary}", "--x", "layer", "--y", "f1_macro_mean", "--group", "model"]

[report]
trained = "trained"
random = ["random"]
figures = ["f1=F1 ({language})"]
)TOML";

std::map<std::string, std::string> hashes(const Plan& p) {
  std::map<std::string, std::string> h;
  for (const auto& st : p.stages)
    for (const auto& t : st.tasks) h[t.id] = t.hash;
  return h;
}

// Task ids whose hash differs between two plans of the same shape.
std::vector<std::string> changed(const Plan& a, const Plan& b) {
  const auto ha = hashes(a), hb = hashes(b);
  std::vector<std::string> out;
  for (const auto& [id, h] : ha)
    if (hb.at(id) != h) out.push_back(id);
  return out;
}

TEST(StudyPlan, StagesInTopologicalOrderWithTheirTasks) {
  // [extract] appears twice otherwise: the fixture's head has one, so the body's shards go in a rewrite.
  auto s = write_tiny_study("plan_order", "");
  rewrite_study(s, probe_block("layers", "k = [4]\nseeds = [1, 2]\ntasks = 2") +
                       probe_block("k", "layers = \"best:layers\"\nk = [2, 4]") + kExtras);
  std::string toml = ps::read_file(s.file);
  toml.replace(toml.find("token_budget = 512"), 18, "token_budget = 512\nshards = 2");
  ps::write_file_atomic(s.file, toml);
  const Plan p = plan_of(s);
  std::vector<std::string> names;
  std::vector<size_t> counts;
  for (const auto& st : p.stages) names.push_back(st.name), counts.push_back(st.tasks.size());
  EXPECT_EQ(names, (std::vector<std::string>{"extract", "merge", "probe.layers", "probe.k", "collect", "id", "figures", "report", "publish"}));
  EXPECT_EQ(counts, (std::vector<size_t>{4, 2, 4, 2, 1, 1, 1, 1, 1}));
  EXPECT_EQ(p.stage("probe.k").depends_on, (std::vector<std::string>{"merge", "probe.layers"}));
  EXPECT_EQ(p.stage("report").depends_on, (std::vector<std::string>{"collect", "id", "figures"}));
  // Each task's dependencies lie in earlier stages, and its index is its place in the stage.
  std::map<std::string, size_t> stage_of;
  for (size_t i = 0; i < p.stages.size(); ++i)
    for (size_t j = 0; j < p.stages[i].tasks.size(); ++j) {
      const Task& t = p.stages[i].tasks[j];
      EXPECT_EQ(t.index, static_cast<int>(j));
      for (const auto& d : t.depends_on) {
        EXPECT_LT(stage_of.at(d), i) << t.id << " <- " << d;
        const auto& after = p.stages[i].depends_on;
        EXPECT_NE(std::find(after.begin(), after.end(), p.stages[stage_of.at(d)].name), after.end()) << t.id << " <- " << d;
      }
      stage_of[t.id] = i;
      EXPECT_EQ(t.output_dir, p.store + "/" + p.stages[i].kind + "/" + t.hash);
      EXPECT_EQ(t.log, p.dir + "/logs/" + p.stages[i].name + "/" + std::to_string(j) + ".log");
      EXPECT_EQ(t.argv.front(), probescope());
    }
  const Task& best = p.task("probe.k", 0);
  EXPECT_EQ(best.best_layer_from.size(), 2u);  // both slices of the trained model's layer sweep
  EXPECT_EQ(best.best_layer_model, "trained");
  EXPECT_NE(std::find(best.argv.begin(), best.argv.end(), "{best-layer}"), best.argv.end());
  const Task& slice = p.task("probe.layers", 1);
  EXPECT_NE(std::find(slice.argv.begin(), slice.argv.end(), "1/2"), slice.argv.end());
  // plan.json round-trips.
  const Plan back = read_plan(p.dir);
  EXPECT_EQ(hashes(back), hashes(p));
  EXPECT_EQ(back.task("probe.k", 0).best_layer_from, best.best_layer_from);
  EXPECT_EQ(exec_task_argv(back, "probe.k", 1),
            (std::vector<std::string>{probescope(), "study", "exec-task", p.dir, "--stage", "probe.k", "--index", "1"}));
}

TEST(StudyPlan, HashesAreStableAndFollowExactlyTheSettingsThatMatter) {
  auto s = write_tiny_study("plan_hash", probe_block("layers", "k = [4]\nseeds = [1, 2]\ntasks = 2") +
                                             probe_block("k", "layers = \"best:layers\"\nk = [2, 4]") + kExtras);
  const Plan base = plan_of(s);
  EXPECT_EQ(hashes(plan_of(s)), hashes(base));  // stable
  // One probe setting: that probe's tasks and what reads them (collect, figures, reports), nothing upstream.
  rewrite_study(s, probe_block("layers", "k = [4]\nseeds = [1, 2]\ntasks = 2") +
                       probe_block("k", "layers = \"best:layers\"\nk = [2, 8]") + kExtras);
  EXPECT_EQ(changed(base, plan_of(s)),
            (std::vector<std::string>{"collect/probes", "figures/f1_python", "probe.k/random.python.t0",
                                      "probe.k/trained.python.t0", "publish/results", "report/python"}));
  // The layer sweep's seeds: it and the best-layer probes that read it change too.
  rewrite_study(s, probe_block("layers", "k = [4]\nseeds = [1, 3]\ntasks = 2") +
                       probe_block("k", "layers = \"best:layers\"\nk = [2, 4]") + kExtras);
  EXPECT_EQ(changed(base, plan_of(s)).size(), 4u + 2u + 4u);  // + collect, figure, report, publish
  // An ID setting: id, the reports that read it and publish.
  std::string extras = kExtras;
  extras.replace(extras.find("ci_reps = 2"), 11, "ci_reps = 3");
  rewrite_study(s, probe_block("layers", "k = [4]\nseeds = [1, 2]\ntasks = 2") +
                       probe_block("k", "layers = \"best:layers\"\nk = [2, 4]") + extras);
  EXPECT_EQ(changed(base, plan_of(s)), (std::vector<std::string>{"id/python", "publish/results", "report/python"}));
}

// `dtype = "auto"` is resolved once at plan time (from the CPU's flags, not a per-process timing), so every
// extract task of a study, on any executor, runs one concrete dtype, and that dtype is in its hash.
TEST(StudyPlan, AutoDtypeIsResolvedOnceAtPlanTime) {
  auto s = write_tiny_study("plan_dtype", probe_block("layers", "k = [4]"));
  const Plan p = expand_study(load_study(s.file, {"extract.dtype=auto", "extract.shards=2"}), s.out, probescope());
  std::string chosen;
  for (const auto& st : p.stages)
    for (const auto& t : st.tasks) {
      if (t.stage != "extract") continue;
      const auto at = std::find(t.argv.begin(), t.argv.end(), "--dtype");
      ASSERT_NE(at, t.argv.end()) << t.id;
      if (chosen.empty()) chosen = *(at + 1);
      EXPECT_EQ(*(at + 1), chosen) << t.id;
    }
  EXPECT_TRUE(chosen == "bfloat16" || chosen == "float32") << chosen;
  const Plan explicit_dtype = expand_study(load_study(s.file, {"extract.dtype=" + chosen, "extract.shards=2"}), s.out, probescope());
  EXPECT_EQ(hashes(explicit_dtype), hashes(p));  // auto is exactly the dtype it resolved to
}

TEST(StudyPlan, TheCorpusAndTheModelAreInputs) {
  auto s = write_tiny_study("plan_inputs", probe_block("layers", "k = [4]"));
  const Plan base = plan_of(s);
  // Another corpus (one more function): every task reads it, directly or through its dependencies.
  const std::string copy = s.dir + "/corpus2.jsonl";
  const std::string corpus = ps::read_file(s.corpus);
  ps::write_file_atomic(copy, corpus + corpus.substr(0, corpus.find('\n') + 1));
  std::string toml = ps::read_file(s.file);
  toml.replace(toml.find(s.corpus), s.corpus.size(), copy);
  ps::write_file_atomic(s.file, toml);
  const Plan p = plan_of(s);
  EXPECT_EQ(changed(base, p).size(), base.task_count());  // every task reads the corpus
}

TEST(StudyPlan, TwoStudiesWithOneCacheShareTheirStores) {
  auto a = write_tiny_study("plan_cache_a", probe_block("layers", "k = [4]"));
  std::string toml = ps::read_file(a.file);
  toml.replace(toml.find("name = \"tiny\""), 13, "name = \"tiny\"\ncache = \"" + a.dir + "/cache\"");
  ps::write_file_atomic(a.file, toml);
  const Plan p1 = expand_study(load_study(a.file), a.dir + "/one", probescope());
  const Plan p2 = expand_study(load_study(a.file), a.dir + "/two", probescope());
  EXPECT_EQ(p1.store, a.dir + "/cache");
  EXPECT_EQ(p1.task("extract", 0).output, p2.task("extract", 0).output);
  EXPECT_EQ(p1.task("probe.layers", 0).output, p2.task("probe.layers", 0).output);
  EXPECT_NE(p1.dir, p2.dir);
}

// The shipped studies need the shipped encoder and the bootstrap's corpora: the first path missing, or "".
std::string missing_shipped_inputs() {
  for (const char* need : {"/data/models/roberta-code5/config.json", "/.cache/corpora/python.jsonl",
                           "/.cache/corpora/javascript.jsonl", "/.cache/corpora/go.jsonl"})
    if (!std::filesystem::exists(std::string(PS_SOURCE_DIR) + need)) return std::string(PS_SOURCE_DIR) + need;
  return "";
}

// studies/paper.toml: the AST-Probe paper's protocol, plan only (a cluster's worth of work).
TEST(StudyPlan, PaperStudyPlans) {
  const std::string file = std::string(PS_SOURCE_DIR) + "/studies/paper.toml";
  if (const std::string missing = missing_shipped_inputs(); !missing.empty())
    GTEST_SKIP() << missing << " is missing (script/bootstrap builds the corpora)";
  const Study st = load_study(file);
  EXPECT_EQ(st.corpora.size(), 3u);
  const Plan p = expand_study(st, ps::test::scratch_dir("paper").string() + "/out", probescope());
  write_plan(p);
  const auto& grid = st.probes.front();
  EXPECT_EQ(grid.k, (std::vector<int>{8, 16, 32, 64, 128, 256, 512}));
  EXPECT_EQ(grid.seeds, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(grid.layers, "all");
  EXPECT_EQ(grid.max_train, 20000);
  EXPECT_EQ(grid.max_valid, 2000);
  EXPECT_EQ(grid.max_test, 4000);
  size_t probe_tasks = 0;
  for (const auto& s : p.stages)
    if (s.kind == "probe") probe_tasks += s.tasks.size();
  EXPECT_EQ(probe_tasks, st.models.size() * 3 * static_cast<size_t>(grid.tasks));
  EXPECT_EQ(p.stages.back().name, "publish");
}

// studies/quickstart.toml: probes train on the corpus's train split and are scored on held-out functions, and the
// headline (another budget) is collected apart and read by every language's report.
TEST(StudyPlan, QuickstartStudyHasAHeadlineApartFromItsCurves) {
  const std::string file = std::string(PS_SOURCE_DIR) + "/studies/quickstart.toml";
  if (const std::string missing = missing_shipped_inputs(); !missing.empty())
    GTEST_SKIP() << missing << " is missing (script/bootstrap builds the corpora)";
  const Study st = load_study(file);
  for (const auto& c : st.corpora) EXPECT_EQ(c.limit_per_split, "train=3000,valid=500,test=500") << c.language;
  int headline = 0;
  for (const auto& pr : st.probes) {
    EXPECT_EQ(pr.split, "corpus") << pr.name;
    if (pr.summary == "headline") {
      ++headline;
      EXPECT_EQ(pr.steps_per_epoch, 625) << pr.name;
    } else {
      EXPECT_EQ(pr.summary, "") << pr.name;
    }
  }
  EXPECT_EQ(headline, 3);
  EXPECT_EQ(st.report.headline, "headline");
  const Plan p = expand_study(st, ps::test::scratch_dir("quickstart").string() + "/out", probescope());
  const auto& collect = p.task("collect", 0).argv;
  EXPECT_NE(std::find(collect.begin(), collect.end(), "headline_random=headline"), collect.end());
  for (const auto& t : p.stage("report").tasks) {
    const auto at = std::find(t.argv.begin(), t.argv.end(), "--headline-summary");
    ASSERT_NE(at, t.argv.end()) << t.id;
    EXPECT_NE(at[1].find("/headline/"), std::string::npos) << at[1];
  }
  for (const auto& t : p.stage("extract").tasks) {
    const auto at = std::find(t.argv.begin(), t.argv.end(), "--splits");
    ASSERT_NE(at, t.argv.end()) << t.id;
    EXPECT_EQ(at[1], t.id.find("attention.") != std::string::npos ? "valid,test" : "train,valid,test") << t.id;
  }
}

}  // namespace
}  // namespace ps::study
