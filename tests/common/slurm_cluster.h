#pragma once
// A real single-node Slurm for tests: Debian's munged, slurmctld and slurmd, started under a private
// directory with their own key, socket, state, logs and ports (script/slurm-cluster writes the files), as
// children of the test process that die with it (PR_SET_PDEATHSIG), stopped by their PIDs on teardown.
// Two test processes may each run one at once: clients reach the right one through SLURM_CONF.
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace ps::test {

struct SlurmClusterOptions {
  int cpus = 0;               // CPUs the node offers; 0 = the machine's (more are allowed: config_overrides)
  int max_array_size = 1001;  // Slurm's MaxArraySize (array indices 0..N-1)
};

struct CommandResult {
  int rc = -1;
  std::string out, err;
};

class SlurmCluster {
 public:
  // Empty when munged, slurmctld, slurmd, sbatch, squeue, sacct and scontrol are all installed;
  // otherwise a sentence naming what is missing (the reason a test skips).
  static std::string missing_binaries();

  // Starts the daemons and waits until the node is idle. The cluster's own directory is a short
  // /tmp/pss.XXXXXX (Unix socket paths, munge's and slurmstepd's, must fit 108 bytes), linked from
  // `link` (e.g. under the test's scratch directory); removed on stop unless the running test failed.
  // Throws std::runtime_error with the daemons' log tails when the cluster does not come up.
  explicit SlurmCluster(const std::filesystem::path& link, SlurmClusterOptions options = {});
  ~SlurmCluster();
  SlurmCluster(const SlurmCluster&) = delete;
  SlurmCluster& operator=(const SlurmCluster&) = delete;

  // Cancels every job, then stops slurmd, slurmctld and munged by their PIDs. Idempotent.
  void stop();

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path conf() const { return dir_ / "etc" / "slurm.conf"; }
  // Exports SLURM_CONF (and drops any SLURM_JOB_* of an enclosing job) so that child processes, such as
  // the probescope executable, talk to this cluster.
  void export_env() const;
  double start_seconds() const { return start_seconds_; }

  // Runs a Slurm client command (argv[0] looked up on PATH) against this cluster.
  CommandResult run(const std::vector<std::string>& argv) const;
  // Polls squeue until no job is pending or running, up to `timeout_s`; false on timeout.
  bool wait_drained(double timeout_s) const;

 private:
  bool start_once(std::string& why);
  void kill_daemons();

  std::filesystem::path dir_;
  SlurmClusterOptions options_;
  std::vector<pid_t> pids_;  // munged, slurmctld, slurmd
  double start_seconds_ = 0;
};

}  // namespace ps::test
