#pragma once
// `--executor slurm`: one sbatch job array per DAG stage (chunked under MaxArraySize), array task i running
// `probescope study exec-task DIR --stage S --index i`, stages chained with --dependency=afterok:<ids>
// --kill-on-invalid-dep=yes, every job --requeue --signal=B:TERM@120. The scripts, submit.sh (the same chain
// as a shell script) and jobs.tsv (the job ids) are kept in DIR/slurm/. After submitting, run() polls
// squeue/sacct (never `sbatch --wait`, which exits 0 for a job cancelled on a failed dependency) until every
// task has ended, and reports failed tasks with their logs and their dependants as cancelled.
//
// The study's [slurm] table (Plan::slurm): partition, account, max_array_size (at most the cluster's),
// extra ("--qos=x;--constraint=y": more #SBATCH lines), poll_seconds (default 10), wait ("false": submit
// and return; `study status DIR` shows the jobs' states later).
#include <map>
#include <string>
#include <vector>

#include "app/study/executor.h"

namespace ps::study {

// One submitted (or, with --dry-run, written) array job: chunk `chunk` of a stage's tasks.
struct SlurmJob {
  std::string stage;
  int chunk = 0, offset = 0, size = 0;
  std::string job_id;  // empty when not submitted (dry run)
  std::string script;  // absolute path of the sbatch file
};

std::string slurm_dir(const Plan& plan);  // DIR/slurm
// DIR/slurm/jobs.tsv, written atomically after each submission, and back (empty when absent).
void write_slurm_jobs(const Plan& plan, const std::vector<SlurmJob>& jobs);
std::vector<SlurmJob> read_slurm_jobs(const Plan& plan);

class SlurmExecutor : public Executor {
 public:
  std::string name() const override { return "slurm"; }
  RunReport run(const Plan& plan, const ExecutorOptions& options) override;
  // The base states (done markers, exec-task's records), refined by squeue/sacct for submitted tasks:
  // queued (with Slurm's reason), running, failed, or cancelled by a failed dependency.
  std::map<std::string, TaskRecord> states(const Plan& plan) override;

  // Writes every not-yet-done stage's scripts and submit.sh; submits them unless dry_run. Exposed for tests.
  std::vector<SlurmJob> submit(const Plan& plan, const ExecutorOptions& options);
  // Polls until every submitted task ended; the outcome of every task of the plan.
  RunReport monitor(const Plan& plan, const std::vector<SlurmJob>& jobs);
};

}  // namespace ps::study
