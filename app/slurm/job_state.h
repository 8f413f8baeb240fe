#pragma once
// Job-array task states from squeue and sacct. squeue knows pending, running and recently finished jobs
// (MinJobAge); sacct knows the rest: through slurmdbd on a real cluster, or through the job-completion
// file (`sacct --completion`, jobcomp/filetxt) where accounting storage is disabled, as on the private test
// cluster. Never `sbatch --wait`: it exits 0 for a job cancelled because its dependency failed.
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ps::slurm {

enum class TaskState { pending, running, completed, failed, cancelled, unknown };

// done/failed/cancelled are final; a requeued task goes back to pending.
bool is_final(TaskState s);
const char* to_string(TaskState s);
// Slurm's state names (squeue %T, sacct State, "CANCELLED by 0") onto the four the executor acts on.
TaskState classify(const std::string& slurm_state);

struct TaskRecord {
  std::string array_job;  // the array's job id (what sbatch --parsable printed)
  int index = -1;         // SLURM_ARRAY_TASK_ID; -1 for a job that is not an array
  std::string raw_id;     // the task's own job id once it has one (sacct --completion knows only this)
  std::string slurm_state;
  std::string reason;     // squeue %r, e.g. DependencyNeverSatisfied
  std::string exit_code;  // sacct ExitCode "N:signal"
  TaskState state = TaskState::unknown;
};

// `squeue -h -r -t all -o '%A|%F|%K|%T|%r'` lines.
std::vector<TaskRecord> parse_squeue(const std::string& out);
// `sacct -X -n -P -o JobID,JobIDRaw,State,ExitCode` lines; a pending array's "12_[3-7%2]" is expanded.
std::vector<TaskRecord> parse_sacct(const std::string& out);

using TaskKey = std::pair<std::string, int>;  // (array job id, array task index)

// Polls the states of every task of the given arrays (job id -> number of array tasks).
class StatePoller {
 public:
  explicit StatePoller(std::map<std::string, int> arrays) : arrays_(std::move(arrays)) {}

  // One poll: squeue first, sacct for the tasks squeue no longer lists. Tasks neither knows are unknown.
  // Throws RuntimeError when squeue itself cannot be run (no Slurm on PATH, controller down).
  std::map<TaskKey, TaskRecord> poll();

  // Exposed for tests: the sacct half on its own (slurmdbd, else the job-completion file).
  std::vector<TaskRecord> query_sacct();
  bool accounting_via_completion_file() const { return completion_file_; }

 private:
  std::map<std::string, int> arrays_;
  std::map<std::string, TaskKey> raw_ids_;  // learned from squeue: what sacct --completion reports
  bool completion_file_ = false;
};

// The array task index range list sacct prints, "[0-3,7,9-10%2]" or "5", expanded.
std::vector<int> expand_index_list(const std::string& spec);

// Query MaxArraySize from `scontrol show config` (Slurm's default, 1001, when it is not listed).
int max_array_size();

}  // namespace ps::slurm
