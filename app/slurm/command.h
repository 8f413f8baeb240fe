#pragma once
// Running Slurm's client commands (sbatch, squeue, sacct, scontrol) and capturing what they print.
#include <string>
#include <vector>

namespace ps::slurm {

struct CommandOutput {
  int rc = -1;  // exit status; 127 when the program could not be started, 128+N when killed by signal N
  std::string out, err;
};

// Runs argv (argv[0] looked up on PATH) with stdin from /dev/null; waits for it.
CommandOutput run_command(const std::vector<std::string>& argv);

// "sbatch: error: ..." as one line: the command, its exit status and the first line of stderr.
std::string describe_failure(const std::vector<std::string>& argv, const CommandOutput& r);

}  // namespace ps::slurm
