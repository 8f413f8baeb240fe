#pragma once
// One task's execution: `probescope study exec-task DIR --stage S --index I [--threads T]`, the one command every executor
// runs per task, and the state files it leaves. STABLE INTERFACE (the Slurm executor relies on it).
//
// exec-task is idempotent:
//   - output complete under its hash (STORE/<stage>/<hash>/.done names the hash): exits 0 at once;
//   - a dependency not done: exits 1 naming it (never runs on missing inputs);
//   - otherwise takes STORE/<stage>/<hash>/.lock (flock: two studies sharing a cache never run one task twice
//     at once), records DIR/state/<stage>.<index>.json = running, runs the task's argv with stdout and stderr
//     appended to the task's log, and on exit 0 writes .done atomically (temp + rename) and the state done;
//     on failure the state is failed with the exit code and the log path, and .done is not written.
//   - SIGTERM/SIGINT are forwarded to the child (extract and probe sweeps commit and exit resumable; Slurm's
//     --signal=B:TERM@120 lands here); the task then ends failed ("interrupted") and a rerun resumes.
#include <string>
#include <vector>

#include "app/study/plan.h"

namespace ps::study {

enum class TaskState { pending, running, done, failed, cancelled };
const char* state_name(TaskState s);

// What DIR/state/<stage>.<index>.json records (absent file: pending unless .done exists).
struct TaskRecord {
  TaskState state = TaskState::pending;
  int exit_code = 0;            // failed: the task's exit status (128+N for signal N)
  std::string host;             // where it ran
  long pid = 0;                 // the exec-task process (running)
  std::string started, ended;   // UTC ISO-8601
  std::string message;          // failed: one line (e.g. "exit 1; see LOG")
  std::string executor_id;      // what an executor recorded (Slurm: "JOBID_ARRAYINDEX"); may be empty
};

std::string state_path(const std::string& dir, const std::string& stage, int index);
std::string done_path(const Task& task);  // output_dir/.done

// True when the task's .done marker exists and names task.hash.
bool task_done(const Task& task);

// The task's state from its .done marker and DIR/state record: done beats any record; a "running" record
// whose pid no longer lives on this host reads as failed ("interrupted").
TaskRecord read_task_state(const Plan& plan, const Task& task);

// Writes DIR/state/<stage>.<index>.json atomically.
void write_task_state(const Plan& plan, const Task& task, const TaskRecord& record);

// Runs one task as described above; returns the exit code exec-task exits with (0 done or already done).
// The task's argv may hold "{threads}" (extract, id: the threads it may use): replaced by `threads`, where
// 0 means SLURM_CPUS_PER_TASK when set, else the hardware's (resolve_threads, executor.h). The local executor
// passes its share (--threads T split over --jobs N); Slurm array scripts pass nothing (0).
// `executor_id` is recorded in the state file (Slurm: "JOBID_INDEX" from the environment). Progress lines
// go to stderr ("study: <id>: …").
int exec_task(const std::string& dir, const std::string& stage, int index, int threads = 0,
              const std::string& executor_id = "");

}  // namespace ps::study
