#pragma once
// sbatch job-array scripts for one DAG stage, and the sbatch command lines that chain stages.
// One stage of N tasks becomes ceil(N / MaxArraySize) array jobs ("chunks"); chunk c covers task indices
// [c*M, c*M + size) and its array task i runs task index offset + i, because Slurm refuses array indices
// >= MaxArraySize. Dependencies are passed at submission (job ids exist only then), so the scripts are
// complete, inspectable files that `sbatch FILE` accepts unchanged.
#include <string>
#include <vector>

namespace ps::slurm {

struct StageArray {
  std::string stage;                 // the DAG stage ("extract", "probe", ...), part of the job name
  int tasks = 0;                     // task indices 0..tasks-1
  std::vector<std::string> command;  // argv run per task; the task index is appended as the last argument
  std::string workdir;               // sbatch --chdir
  std::string log_dir;               // Slurm's own stdout/stderr per array task go here
  std::string task_log;              // the task's log, appended across requeues; "{index}" = the task
                                     // index (empty: only Slurm's own output file)
  int cpus_per_task = 1;
  int mem_mb = 0;                    // --mem per node (0: the cluster's default)
  std::string time_limit;            // --time, e.g. "2:00:00" (empty: the partition's default)
  std::vector<std::string> extra;    // further "#SBATCH" options verbatim, e.g. "--partition=gpu"
  std::vector<std::string> env;      // "NAME=value" exported before the command (e.g. PATH for the tests)
};

struct Chunk {
  int offset = 0;  // first task index
  int size = 0;    // array tasks 0..size-1
};

// The chunks that cover `tasks` indices with arrays of at most `max_array_size` tasks (MaxArraySize).
std::vector<Chunk> chunk_tasks(int tasks, int max_array_size);

// The batch script of one chunk. Its array task i execs `command... <offset + i>` so that probescope is
// the batch shell itself and receives --signal=B:TERM@120 (commits and exits; --requeue reruns it).
std::string render_script(const StageArray& stage, const Chunk& chunk, int chunk_index, int chunk_count);

// A file name for chunk `index` of a stage: "<stage>.<index>.sbatch".
std::string script_name(const std::string& stage, int chunk_index);

// The argv that submits `script` after every job in `after_ok` succeeded (none: no dependency).
std::vector<std::string> submit_argv(const std::string& script, const std::vector<std::string>& after_ok);

// The job id from `sbatch --parsable` output ("123" or "123;cluster"); throws RuntimeError otherwise.
std::string parse_submitted_id(const std::string& sbatch_stdout);

// "'a b'" style quoting for scripts written to disk.
std::string shell_quote(const std::string& s);

}  // namespace ps::slurm
