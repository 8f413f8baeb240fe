// probescope study run|plan|status|collect|exec-task|publish: batch studies from one TOML file (app/study),
// run by an executor (local processes by default, Slurm job arrays with --executor slurm).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "app/cli/commands.h"
#include "app/study/collect.h"
#include "app/study/executor.h"
#include "app/study/expand.h"
#include "app/study/schema.h"
#include "models/util/error.h"

namespace ps::cli {

namespace {

std::string self_path() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw RuntimeError("cannot find the probescope executable (/proc/self/exe)");
  return std::string(buf, static_cast<size_t>(n));
}

ps::study::Plan plan_study(const std::string& file, const std::string& out, const std::vector<std::string>& sets) {
  const auto study = ps::study::load_study(file, sets);
  auto plan = ps::study::expand_study(study, out, self_path());
  ps::study::write_plan(plan);
  return plan;
}

void print_states(const ps::study::Plan& plan) {
  auto ex = ps::study::make_executor(ps::study::recorded_executor(plan.dir));
  const auto states = ex->states(plan);
  std::map<std::string, int> counts;
  for (const auto& st : plan.stages) {
    std::printf("stage %s (%zu tasks)\n", st.name.c_str(), st.tasks.size());
    for (const auto& t : st.tasks) {
      const auto& r = states.at(t.id);
      const char* s = ps::study::state_name(r.state);
      ++counts[s];
      std::printf("  %-9s %s", s, t.id.c_str());
      if (!r.executor_id.empty()) std::printf(" [%s]", r.executor_id.c_str());
      if (r.state == ps::study::TaskState::failed || r.state == ps::study::TaskState::cancelled)
        std::printf(" (%s)", r.message.c_str());
      std::printf("\n");
    }
  }
  std::printf("%zu tasks:", plan.task_count());
  for (const auto& [s, n] : counts) std::printf(" %d %s", n, s.c_str());
  std::printf("\n");
}

}  // namespace

void add_study_command(CLI::App& app) {
  auto* study = app.add_subcommand(
      "study", "Batch studies: one TOML file (models x corpora -> extract -> probes -> ID -> figures -> report) "
               "expanded into a DAG of content-addressed tasks, run locally or as Slurm job arrays (README: Batch studies)");
  study->require_subcommand(1);

  struct RunArgs {
    std::string file, out, executor = "local";
    std::vector<std::string> sets;
    ps::study::ExecutorOptions opt;
  };
  auto r = std::make_shared<RunArgs>();
  auto* run = study->add_subcommand("run", "Plan the study and run every task not yet done");
  run->add_option("STUDY", r->file, "study file (.toml)")->required();
  run->add_option("--out", r->out, "study directory: plan.json, logs/, state/, store/ and results/")->required();
  run->add_option("--set", r->sets, "a setting of the study file for this run, before validation (repeatable): corpus.limit=80 sets every "
                 "[[corpus]]'s limit, probe[2].k=[8,16] one probe's, extract.shards=4 a table's key");
  run->add_option("--executor", r->executor, "local (processes here) or slurm (sbatch job arrays)")->capture_default_str();
  run->add_option("--jobs", r->opt.jobs, "local: tasks at once")->capture_default_str();
  run->add_option("--threads", r->opt.threads,
                  "threads in all, split between the --jobs tasks (0 = SLURM_CPUS_PER_TASK when set, else all hardware threads)")
      ->capture_default_str();
  run->add_flag("--dry-run", r->opt.dry_run, "local: list what would run; slurm: write the sbatch scripts, submit nothing");
  run->callback(guarded("study run", [r] {
    const auto plan = plan_study(r->file, r->out, r->sets);
    auto ex = ps::study::make_executor(r->executor);
    const auto report = ex->run(plan, r->opt);
    std::fputs(report.summary().c_str(), report.ok() ? stdout : stderr);
    if (!report.ok()) throw RuntimeError("study " + plan.study_name + ": " + std::to_string(report.failed) + " task(s) failed (their logs are named above)");
    if (!r->opt.dry_run && report.pending == 0 && report.submitted == 0) std::printf("results: %s\n", plan.results_dir.c_str());
  }));

  auto p = std::make_shared<RunArgs>();
  auto* plan = study->add_subcommand("plan", "Write DIR/plan.json and print the DAG (stages, tasks, hashes, commands) without running");
  plan->add_option("STUDY", p->file, "study file (.toml)")->required();
  plan->add_option("--out", p->out, "study directory")->required();
  plan->add_option("--set", p->sets, "a setting of the study file, as for study run (repeatable)");
  plan->callback(guarded("study plan", [p] { std::fputs(ps::study::describe_plan(plan_study(p->file, p->out, p->sets)).c_str(), stdout); }));

  auto dir = std::make_shared<std::string>();
  auto* status = study->add_subcommand("status", "Each task of DIR's plan: done, running, failed, cancelled or pending");
  status->add_option("DIR", *dir, "study directory")->required();
  status->callback(guarded("study status", [dir] { print_states(ps::study::read_plan(*dir)); }));

  struct CollectArgs {
    std::string dir, out;
    std::vector<std::string> summaries;
  };
  auto c = std::make_shared<CollectArgs>();
  auto* collect = study->add_subcommand(
      "collect", "Join every probe task's results (slices of grids included): each grid cell exactly once, means and "
                 "spreads over seeds recomputed; fails naming a missing or duplicated cell");
  collect->add_option("DIR", c->dir, "study directory")->required();
  collect->add_option("--out", c->out, "output directory (default DIR/results/collect)");
  collect->add_option("--summary", c->summaries,
                      "PROBE=NAME: join probe PROBE only with the probes of summary NAME, into OUT/NAME/<language> "
                      "(a headline at another budget); repeatable");
  collect->callback(guarded("study collect", [c] {
    const auto plan = ps::study::read_plan(c->dir);
    const std::string out = c->out.empty() ? plan.results_dir + "/collect" : c->out;
    std::map<std::string, std::string> summary_of;
    for (const auto& s : c->summaries) {
      const auto eq = s.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == s.size())
        throw ps::InputError("study collect: --summary '" + s + "': expected PROBE=NAME");
      summary_of[s.substr(0, eq)] = s.substr(eq + 1);
    }
    const size_t n = ps::study::collect(plan, out, summary_of);
    std::printf("%s: %zu fits joined\n", out.c_str(), n);
  }));

  struct ExecArgs {
    std::string dir, stage;
    int index = -1, threads = 0;
  };
  auto e = std::make_shared<ExecArgs>();
  auto* exec = study->add_subcommand(
      "exec-task", "Run one task of DIR's plan (what every executor runs): exits 0 at once when its output is complete, "
                   "else runs it, logs to its log file and marks it done only on success");
  exec->add_option("DIR", e->dir, "study directory")->required();
  exec->add_option("--stage", e->stage, "stage name")->required();
  exec->add_option("--index", e->index, "task index within the stage")->required();
  exec->add_option("--threads", e->threads, "threads for the task (0 = SLURM_CPUS_PER_TASK when set, else all)")->capture_default_str();
  exec->callback(guarded("study exec-task", [e] {
    std::string id;
    if (const char* j = std::getenv("SLURM_ARRAY_JOB_ID")) id = std::string(j) + "_" + (std::getenv("SLURM_ARRAY_TASK_ID") ? std::getenv("SLURM_ARRAY_TASK_ID") : "");
    else if (const char* j2 = std::getenv("SLURM_JOB_ID")) id = j2;
    set_exit_code(ps::study::exec_task(e->dir, e->stage, e->index, e->threads, id));
  }));

  struct PublishArgs {
    std::string dir, out;
    ps::study::PublishOptions opt;
  };
  auto pb = std::make_shared<PublishArgs>();
  auto* publish = study->add_subcommand("publish", "Lay a finished study's results out under DIR/results (a task of the plan)");
  publish->add_option("DIR", pb->dir, "study directory")->required();
  publish->add_option("--out", pb->out, "marker file listing what was written")->required();
  publish->add_option("--title", pb->opt.title, "title of results/report.md");
  publish->add_option("--preamble", pb->opt.preamble, "a line under the title (repeatable)");
  publish->add_option("--shared-figure", pb->opt.shared_figures, "NAME=CAPTION after the languages (repeatable)");
  publish->callback(guarded("study publish", [pb] { ps::study::publish(ps::study::read_plan(pb->dir), pb->opt, pb->out); }));
}

static const CommandRegistration registration{90, add_study_command};

}  // namespace ps::cli
