// Monitoring half of the Slurm executor: squeue/sacct states of the submitted arrays onto the plan's tasks.
#include <chrono>
#include <cstdio>
#include <set>
#include <thread>

#include "app/slurm/job_state.h"
#include "app/study/executor_slurm.h"
#include "models/util/error.h"

namespace ps::study {
namespace {

struct Where {
  const Task* task;
  std::string array_job;
  int array_index;
};

// Each submitted array task -> the plan's task it runs.
std::map<slurm::TaskKey, Where> task_map(const Plan& plan, const std::vector<SlurmJob>& jobs,
                                         std::map<std::string, int>& arrays) {
  std::map<slurm::TaskKey, Where> m;
  for (const auto& j : jobs) {
    if (j.job_id.empty()) continue;
    arrays[j.job_id] = j.size;
    for (int i = 0; i < j.size; ++i) m[{j.job_id, i}] = {&plan.task(j.stage, j.offset + i), j.job_id, i};
  }
  return m;
}

double poll_seconds(const Plan& plan) {
  auto it = plan.slurm.find("poll_seconds");
  if (it == plan.slurm.end() || it->second.empty()) return 10;
  try {
    double s = std::stod(it->second);
    if (s > 0 && s <= 3600) return s;
  } catch (const std::exception&) {
  }
  throw InputError(where(plan.study_file, "[slurm] poll_seconds = '" + it->second + "': expected seconds in (0, 3600]"));
}

TaskState to_study(slurm::TaskState s) {
  switch (s) {
    case slurm::TaskState::running: return TaskState::running;
    case slurm::TaskState::completed: return TaskState::done;
    case slurm::TaskState::failed: return TaskState::failed;
    case slurm::TaskState::cancelled: return TaskState::cancelled;
    default: return TaskState::pending;
  }
}

}  // namespace

RunReport SlurmExecutor::monitor(const Plan& plan, const std::vector<SlurmJob>& jobs) {
  std::map<std::string, int> arrays;
  const auto where_is = task_map(plan, jobs, arrays);
  slurm::StatePoller poller(arrays);
  const double interval = poll_seconds(plan);
  std::map<slurm::TaskKey, slurm::TaskRecord> states;
  std::map<slurm::TaskKey, int> unknown_polls;
  std::string last_line;
  std::chrono::steady_clock::time_point failing_since{};
  bool failing = false;
  for (;;) {
    // A busy or restarting controller is not the study's failure: retry for a while before giving up.
    try {
      states = poller.poll();
      failing = false;
    } catch (const Error& e) {
      const auto now = std::chrono::steady_clock::now();
      if (!failing) failing = true, failing_since = now;
      if (now - failing_since > std::chrono::minutes(5))
        throw RuntimeError(std::string("study: slurm: cannot read job states for 5 minutes (") + e.what() +
                           "); the jobs keep running: see `probescope study status " + plan.dir + "`");
      std::fprintf(stderr, "study: slurm: cannot read job states (%s); retrying\n", e.what());
      std::this_thread::sleep_for(std::chrono::duration<double>(std::max(interval, 2.0)));
      continue;
    }
    int counts[6] = {0, 0, 0, 0, 0, 0};
    bool all_final = true;
    for (auto& [key, rec] : states) {
      // Neither squeue nor sacct knows it (purged, no accounting): exec-task's own record decides; after
      // a minute of that with no final record, it counts as failed rather than waiting forever.
      if (rec.state == slurm::TaskState::unknown) {
        const Task& t = *where_is.at(key).task;
        TaskRecord own = read_task_state(plan, t);
        if (own.state == TaskState::done) rec.state = slurm::TaskState::completed;
        else if (own.state == TaskState::failed) rec.state = slurm::TaskState::failed;
        else if (++unknown_polls[key] * interval > 60) rec.state = slurm::TaskState::failed, rec.reason = "unknown to squeue and sacct";
      }
      ++counts[int(rec.state)];
      all_final = all_final && slurm::is_final(rec.state);
    }
    char line[200];
    std::snprintf(line, sizeof line, "study: slurm: %d done, %d running, %d pending, %d failed, %d cancelled",
                  counts[int(slurm::TaskState::completed)], counts[int(slurm::TaskState::running)],
                  counts[int(slurm::TaskState::pending)] + counts[int(slurm::TaskState::unknown)],
                  counts[int(slurm::TaskState::failed)], counts[int(slurm::TaskState::cancelled)]);
    if (line != last_line) std::fprintf(stderr, "%s\n", line), last_line = line;
    if (all_final) break;
    std::this_thread::sleep_for(std::chrono::duration<double>(interval));
  }

  // Stages with a failed task: what a cancelled dependant names.
  std::map<std::string, std::string> failed_in_stage;
  for (const auto& [key, rec] : states)
    if (rec.state == slurm::TaskState::failed) failed_in_stage.emplace(where_is.at(key).task->stage, where_is.at(key).task->id);

  RunReport report;
  std::map<std::string, TaskOutcome> by_id;
  for (const auto& [key, rec] : states) {
    const Task& t = *where_is.at(key).task;
    TaskOutcome o{t.id, t.stage, t.index, to_study(rec.state), 0, t.log, ""};
    const std::string job = key.first + "_" + std::to_string(key.second);
    if (o.state == TaskState::done && !task_done(t)) {
      o.state = TaskState::failed;
      o.message = "slurm job " + job + " completed but the task's .done marker is missing";
    } else if (o.state == TaskState::failed) {
      TaskRecord own = read_task_state(plan, t);
      o.exit_code = own.exit_code;
      if (!rec.exit_code.empty() && o.exit_code == 0) o.exit_code = std::atoi(rec.exit_code.c_str());
      o.message = "slurm job " + job + " " + rec.slurm_state + (rec.reason.empty() ? "" : " (" + rec.reason + ")") +
                  (own.message.empty() ? "" : "; " + own.message);
    } else if (o.state == TaskState::cancelled) {
      // The failed task upstream (through any depth of stages) that Slurm's afterok chain cancelled it for.
      std::string culprit;
      std::vector<std::string> todo = plan.stage(t.stage).depends_on;
      std::set<std::string> seen;
      while (culprit.empty() && !todo.empty()) {
        std::string s = todo.back();
        todo.pop_back();
        if (!seen.insert(s).second) continue;
        if (failed_in_stage.count(s)) culprit = failed_in_stage[s];
        for (const auto& d : plan.stage(s).depends_on) todo.push_back(d);
      }
      o.message = "slurm job " + job + " cancelled" +
                  (culprit.empty() ? (rec.reason.empty() ? "" : " (" + rec.reason + ")")
                                   : ": dependency " + culprit + " failed");
    }
    by_id[t.id] = o;
  }
  for (const Stage& stage : plan.stages)
    for (const Task& t : stage.tasks) {
      auto it = by_id.find(t.id);
      TaskOutcome o = it != by_id.end() ? it->second : TaskOutcome{t.id, t.stage, t.index, TaskState::done, 0, t.log, ""};
      if (it == by_id.end()) {
        ++report.skipped;  // not submitted: done before this run
      } else {
        ++report.submitted;
        if (o.state == TaskState::done) ++report.done;
        else if (o.state == TaskState::failed) ++report.failed;
        else if (o.state == TaskState::cancelled) ++report.cancelled;
        else ++report.pending;
      }
      report.tasks.push_back(o);
    }
  return report;
}

std::map<std::string, TaskRecord> SlurmExecutor::states(const Plan& plan) {
  std::map<std::string, TaskRecord> base = Executor::states(plan);
  std::vector<SlurmJob> jobs = read_slurm_jobs(plan);
  std::map<std::string, int> arrays;
  const auto where_is = task_map(plan, jobs, arrays);
  if (arrays.empty()) return base;
  std::map<slurm::TaskKey, slurm::TaskRecord> states;
  try {
    slurm::StatePoller poller(arrays);
    states = poller.poll();
  } catch (const Error& e) {
    std::fprintf(stderr, "study: slurm: cannot read job states (%s); showing the tasks' own records\n", e.what());
    return base;
  }
  for (const auto& [key, rec] : states) {
    const Task& t = *where_is.at(key).task;
    TaskRecord& r = base[t.id];
    r.executor_id = key.first + "_" + std::to_string(key.second);
    if (r.state == TaskState::done || rec.state == slurm::TaskState::unknown) continue;
    // Slurm knows best what is queued or cancelled; exec-task's record knows why a task failed.
    TaskState s = to_study(rec.state);
    if (s == TaskState::done) continue;  // completed in Slurm but no .done: the task's record says why
    if (!(s == TaskState::failed && r.state == TaskState::failed)) {
      r.state = s;
      r.message = "slurm " + rec.slurm_state + (rec.reason.empty() || rec.reason == "None" ? "" : " (" + rec.reason + ")");
    }
  }
  return base;
}

}  // namespace ps::study
