#pragma once
// Executors run a Plan's tasks (each through `probescope study exec-task`, task_state.h). STABLE INTERFACE:
// the Slurm executor (app/study/executor_slurm.*) implements it; `local` is the default.
//
//   auto ex = make_executor("local");           // or "slurm"
//   RunReport r = ex->run(plan, options);       // blocks until every task ended (local) or was submitted (slurm)
//
// `study status DIR` asks the executor recorded in DIR/executor.json (the one that last ran the plan) for
// states: Executor::states() starts from read_task_state() (done markers + DIR/state records) and may refine
// them from its own records (Slurm: job ids in DIR/slurm/, sacct/squeue: pending in queue, cancelled).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "app/study/plan.h"
#include "app/study/task_state.h"

namespace ps::study {

struct ExecutorOptions {
  int jobs = 1;          // local: tasks at once (processes); slurm: ignored (the cluster decides)
  int threads = 0;       // threads in all, split between concurrent tasks; 0 = the hardware's, or
                         // SLURM_CPUS_PER_TASK when set (see resolve_threads)
  bool dry_run = false;  // local: print what would run; slurm: write the sbatch scripts without submitting
  std::vector<std::string> env;  // extra NAME=value for the tasks (tests: PATH)
};

// --threads as given → the thread count to split: T > 0 as is; 0 → SLURM_CPUS_PER_TASK if set, else the
// hardware's.
int resolve_threads(int threads);

struct TaskOutcome {
  std::string id, stage;
  int index = 0;
  TaskState state = TaskState::pending;
  int exit_code = 0;
  std::string log;       // the task's log path
  std::string message;   // failed/cancelled: why ("exit 1", "dependency extract/... failed")
};

struct RunReport {
  std::vector<TaskOutcome> tasks;  // plan order
  int done = 0, skipped = 0, failed = 0, cancelled = 0, pending = 0, submitted = 0;
  bool ok() const { return failed == 0 && cancelled == 0; }
  // One line per failed task: "failed: ID (exit N); log: PATH", then a count line.
  std::string summary() const;
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual std::string name() const = 0;
  // Runs (or submits) every task that is not done, in dependency order. A failed task's dependants are not
  // run: they end cancelled, naming the failed task.
  virtual RunReport run(const Plan& plan, const ExecutorOptions& options) = 0;
  // Current state of every task (plan order, keyed by task id).
  virtual std::map<std::string, TaskRecord> states(const Plan& plan);
};

// Executors register themselves by name (like CLI commands), so the Slurm executor's file needs no edit here:
//   static const ps::study::ExecutorRegistration reg{"slurm", [] { return std::make_unique<SlurmExecutor>(); }};
using ExecutorFactory = std::unique_ptr<Executor> (*)();
struct ExecutorRegistration {
  ExecutorRegistration(const std::string& name, ExecutorFactory factory);
};
std::vector<std::string> executor_names();  // registered, sorted
// A registered executor ("local", "slurm"); InputError naming --executor and the known names otherwise.
std::unique_ptr<Executor> make_executor(const std::string& name);

// DIR/executor.json: which executor last ran the plan (what `study status` asks).
void record_executor(const Plan& plan, const std::string& name);
std::string recorded_executor(const std::string& dir);  // "local" when none recorded

}  // namespace ps::study
