// ps_slurm against a real single-node Slurm (tests/common/slurm_cluster.h): generated array scripts run
// every task index once across MaxArraySize chunks, afterok chains run in order, a failed task's
// dependants end cancelled, and the poller reads it all from squeue and from sacct's job-completion file.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "app/slurm/command.h"
#include "app/slurm/job_state.h"
#include "app/slurm/sbatch.h"
#include "models/util/files.h"
#include "tests/common/scratch.h"
#include "tests/common/slurm_cluster.h"

namespace ps::slurm {
namespace {
namespace fs = std::filesystem;
using test::SlurmCluster;

#define SKIP_WITHOUT_SLURM()                                                    \
  do {                                                                          \
    if (auto why = SlurmCluster::missing_binaries(); !why.empty()) GTEST_SKIP() << why; \
  } while (0)

// A stage whose task i runs `sh -c SCRIPT sh i` in `dir` (the index arrives as $1).
StageArray shell_stage(const std::string& name, int tasks, const fs::path& dir, const std::string& script) {
  StageArray st;
  st.stage = name;
  st.tasks = tasks;
  st.command = {"/bin/sh", "-c", script, "sh"};
  st.workdir = dir.string();
  st.log_dir = (dir / "slurm").string();
  st.task_log = (dir / "logs" / (name + ".{index}.log")).string();
  return st;
}

// Writes and submits every chunk of a stage after `after`; returns the array job ids and their sizes.
std::map<std::string, int> submit_stage(const StageArray& st, int max_array, const std::vector<std::string>& after) {
  std::map<std::string, int> jobs;
  auto chunks = chunk_tasks(st.tasks, max_array);
  for (size_t c = 0; c < chunks.size(); ++c) {
    fs::path script = fs::path(st.log_dir) / script_name(st.stage, int(c));
    fs::create_directories(script.parent_path());
    write_file_atomic(script.string(), render_script(st, chunks[c], int(c), int(chunks.size())));
    auto argv = submit_argv(script.string(), after);
    CommandOutput r = run_command(argv);
    EXPECT_EQ(r.rc, 0) << describe_failure(argv, r);
    jobs[parse_submitted_id(r.out)] = chunks[c].size;
  }
  return jobs;
}

std::vector<std::string> ids(const std::map<std::string, int>& jobs) {
  std::vector<std::string> v;
  for (const auto& [id, n] : jobs) v.push_back(id);
  return v;
}

// Polls until every task is final (a guard of 120 s against a hung cluster, not a timing check).
std::map<TaskKey, TaskRecord> wait_final(StatePoller& poller) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  std::map<TaskKey, TaskRecord> s;
  while (std::chrono::steady_clock::now() < end) {
    s = poller.poll();
    bool all = true;
    for (const auto& [k, t] : s) all = all && is_final(t.state);
    if (all) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ADD_FAILURE() << "tasks not final after 120 s";
  return s;
}

std::string slurp(const fs::path& p) { return file_exists(p.string()) ? read_file(p.string()) : ""; }

TEST(SlurmCluster, StartsIdleAndTwoRunSideBySide) {
  SKIP_WITHOUT_SLURM();
  fs::path dir = test::scratch_dir();
  SlurmCluster a(dir / "a", {.cpus = 0, .max_array_size = 5});
  SlurmCluster b(dir / "b", {.cpus = 0, .max_array_size = 7});
  std::printf("cluster start: %.2f s and %.2f s\n", a.start_seconds(), b.start_seconds());
  // Each client reaches its own controller: the configs differ in MaxArraySize and job ids count separately.
  EXPECT_NE(a.run({"scontrol", "show", "config"}).out.find("MaxArraySize            = 5"), std::string::npos);
  EXPECT_NE(b.run({"scontrol", "show", "config"}).out.find("MaxArraySize            = 7"), std::string::npos);
  auto ja = a.run({"sbatch", "--parsable", "-o", "/dev/null", "--wrap", "true"});
  auto jb = b.run({"sbatch", "--parsable", "-o", "/dev/null", "--wrap", "true"});
  ASSERT_EQ(ja.rc, 0) << ja.err;
  ASSERT_EQ(jb.rc, 0) << jb.err;
  EXPECT_EQ(parse_submitted_id(ja.out), "1");
  EXPECT_EQ(parse_submitted_id(jb.out), "1");
  EXPECT_TRUE(a.wait_drained(60));
  EXPECT_TRUE(b.wait_drained(60));
  a.export_env();
  EXPECT_EQ(max_array_size(), 5);
  const std::string ctld_pid = slurp(a.dir() / "run" / "slurmctld.pid");
  ASSERT_FALSE(ctld_pid.empty());
  a.stop();
  // Stopped by PID (and reaped): the controller's process is gone; the other cluster still answers.
  EXPECT_NE(kill(std::stoi(ctld_pid), 0), 0);
  b.export_env();
  EXPECT_EQ(max_array_size(), 7);
}

TEST(SlurmCluster, ChunkedArraysRunEveryIndexOnceAndChainAfterOk) {
  SKIP_WITHOUT_SLURM();
  fs::path dir = test::scratch_dir();
  SlurmCluster cluster(dir / "cluster", {.cpus = 0, .max_array_size = 2});
  cluster.export_env();
  const int max_array = max_array_size();
  ASSERT_EQ(max_array, 2);
  fs::create_directories(dir / "out");
  // Stage one writes out/<i>; stage two, after it, counts them and sees all five.
  auto first = shell_stage("write", 5, dir, "echo \"task $1 cpus $OMP_NUM_THREADS\" > out/$1");
  auto second = shell_stage("count", 1, dir, "ls out | wc -l > count");
  auto j1 = submit_stage(first, max_array, {});
  ASSERT_EQ(j1.size(), 3u) << "5 tasks in arrays of at most 2";
  auto j2 = submit_stage(second, max_array, ids(j1));
  std::map<std::string, int> all = j1;
  all.insert(j2.begin(), j2.end());
  StatePoller poller(all);
  auto states = wait_final(poller);
  ASSERT_EQ(states.size(), 6u);
  for (const auto& [k, t] : states) EXPECT_EQ(t.state, TaskState::completed) << k.first << "_" << k.second << " " << t.slurm_state;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(slurp(dir / "out" / std::to_string(i)), "task " + std::to_string(i) + " cpus 1\n");
    EXPECT_NE(slurp(dir / "logs" / ("write." + std::to_string(i) + ".log")).find("== slurm job"), std::string::npos);
  }
  EXPECT_EQ(slurp(dir / "count"), "5\n");
  // The job-completion file, read through sacct --completion, agrees with squeue for every task.
  auto acct = poller.query_sacct();
  EXPECT_TRUE(poller.accounting_via_completion_file());
  std::map<TaskKey, TaskState> from_sacct;
  for (const auto& t : acct) from_sacct[{t.array_job, t.index < 0 ? 0 : t.index}] = t.state;
  for (const auto& [k, t] : states) {
    ASSERT_TRUE(from_sacct.count(k)) << k.first << "_" << k.second << " missing from sacct --completion";
    EXPECT_EQ(from_sacct[k], TaskState::completed);
  }
}

TEST(SlurmCluster, FailedTaskCancelsItsDependants) {
  SKIP_WITHOUT_SLURM();
  fs::path dir = test::scratch_dir();
  SlurmCluster cluster(dir / "cluster", {.cpus = 0, .max_array_size = 1001});
  cluster.export_env();
  auto first = shell_stage("work", 3, dir, "if [ $1 = 1 ]; then echo planted failure >&2; exit 3; fi");
  auto second = shell_stage("after", 2, dir, "touch ran.$1");
  auto third = shell_stage("last", 1, dir, "touch ran.last");
  auto j1 = submit_stage(first, 1001, {});
  auto j2 = submit_stage(second, 1001, ids(j1));
  auto j3 = submit_stage(third, 1001, ids(j2));
  std::map<std::string, int> all = j1;
  all.insert(j2.begin(), j2.end());
  all.insert(j3.begin(), j3.end());
  StatePoller poller(all);
  auto states = wait_final(poller);
  const std::string a1 = j1.begin()->first, a2 = j2.begin()->first, a3 = j3.begin()->first;
  EXPECT_EQ(states[(TaskKey{a1, 0})].state, TaskState::completed);
  EXPECT_EQ(states[(TaskKey{a1, 1})].state, TaskState::failed) << states[(TaskKey{a1, 1})].slurm_state;
  EXPECT_EQ(states[(TaskKey{a1, 2})].state, TaskState::completed);
  for (auto k : {TaskKey{a2, 0}, TaskKey{a2, 1}, TaskKey{a3, 0}})
    EXPECT_EQ(states[k].state, TaskState::cancelled) << k.first << "_" << k.second << " " << states[k].slurm_state;
  EXPECT_FALSE(fs::exists(dir / "ran.0"));
  EXPECT_FALSE(fs::exists(dir / "ran.last"));
  EXPECT_NE(slurp(dir / "logs" / "work.1.log").find("planted failure"), std::string::npos);
}

}  // namespace
}  // namespace ps::slurm
