#include "app/slurm/sbatch.h"

#include <sstream>

#include "models/util/error.h"

namespace ps::slurm {

std::vector<Chunk> chunk_tasks(int tasks, int max_array_size) {
  if (max_array_size < 1) throw InputError("MaxArraySize " + std::to_string(max_array_size) + " is not positive");
  std::vector<Chunk> chunks;
  for (int offset = 0; offset < tasks; offset += max_array_size)
    chunks.push_back({offset, std::min(max_array_size, tasks - offset)});
  return chunks;
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%") ==
                        std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string script_name(const std::string& stage, int chunk_index) {
  return stage + "." + std::to_string(chunk_index) + ".sbatch";
}

namespace {

// "{index}" in a path becomes the shell's $index (the rest quoted).
std::string with_index(const std::string& pattern) {
  std::string out;
  size_t at = 0;
  for (size_t p; (p = pattern.find("{index}", at)) != std::string::npos; at = p + 7)
    out += shell_quote(pattern.substr(at, p - at)) + "\"$index\"";
  return out + shell_quote(pattern.substr(at));
}

}  // namespace

std::string render_script(const StageArray& st, const Chunk& chunk, int chunk_index, int chunk_count) {
  if (st.command.empty()) throw InputError("stage " + st.stage + ": no command to run");
  if (chunk.size < 1) throw InputError("stage " + st.stage + ": empty array chunk");
  std::ostringstream s;
  s << "#!/bin/bash\n"
    << "# probescope study: stage '" << st.stage << "', tasks " << chunk.offset << ".." << chunk.offset + chunk.size - 1
    << " (chunk " << chunk_index + 1 << " of " << chunk_count << ")\n"
    << "# Submitted by the study's Slurm executor with --dependency=afterok:<the stages it reads> and\n"
    << "# --kill-on-invalid-dep=yes; see submit.sh beside it for the whole chain.\n"
    << "#SBATCH --job-name=" << shell_quote("ps-" + st.stage) << "\n"
    << "#SBATCH --array=0-" << chunk.size - 1 << "\n"
    << "#SBATCH --output=" << shell_quote(st.log_dir + "/" + st.stage + "." + std::to_string(chunk_index) + ".%A_%a.out")
    << "\n"
    << "#SBATCH --open-mode=append\n"
    << "#SBATCH --cpus-per-task=" << st.cpus_per_task << "\n";
  if (st.mem_mb > 0) s << "#SBATCH --mem=" << st.mem_mb << "M\n";
  if (!st.time_limit.empty()) s << "#SBATCH --time=" << shell_quote(st.time_limit) << "\n";
  if (!st.workdir.empty()) s << "#SBATCH --chdir=" << shell_quote(st.workdir) << "\n";
  // Preemption: requeue instead of failing; TERM to the batch shell (probescope, via exec) 120 s before the
  // kill so an extract commits its rows and the rerun resumes from them.
  s << "#SBATCH --requeue\n"
    << "#SBATCH --signal=B:TERM@120\n";
  for (const auto& e : st.extra) s << "#SBATCH " << e << "\n";
  s << "set -euo pipefail\n";
  for (const auto& e : st.env) {
    auto eq = e.find('=');
    if (eq == std::string::npos || eq == 0) throw InputError("stage " + st.stage + ": environment entry '" + e + "' is not NAME=value");
    s << "export " << e.substr(0, eq) << "=" << shell_quote(e.substr(eq + 1)) << "\n";
  }
  // --threads 0 means the CPUs Slurm gave the task, not the node's; OpenMP-based code follows the same.
  s << "export OMP_NUM_THREADS=\"${SLURM_CPUS_PER_TASK:-1}\"\n"
    << "index=$((SLURM_ARRAY_TASK_ID + " << chunk.offset << "))\n";
  if (!st.task_log.empty()) {
    s << "mkdir -p \"$(dirname " << with_index(st.task_log) << ")\"\n"
      << "echo \"== slurm job ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} (restart ${SLURM_RESTART_COUNT:-0}) on $(hostname) at $(date -u +%FT%TZ)\" >>"
      << with_index(st.task_log) << "\n"
      << "exec >>" << with_index(st.task_log) << " 2>&1\n";
  }
  s << "exec";
  for (const auto& a : st.command) s << " " << shell_quote(a);
  s << " \"$index\"\n";
  return s.str();
}

std::vector<std::string> submit_argv(const std::string& script, const std::vector<std::string>& after_ok) {
  std::vector<std::string> argv = {"sbatch", "--parsable"};
  if (!after_ok.empty()) {
    std::string dep = "--dependency=afterok";
    for (const auto& id : after_ok) dep += ":" + id;
    argv.push_back(dep);
    argv.push_back("--kill-on-invalid-dep=yes");
  }
  argv.push_back(script);
  return argv;
}

std::string parse_submitted_id(const std::string& out) {
  std::string line = out.substr(0, out.find('\n'));
  std::string id = line.substr(0, line.find(';'));
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
    throw RuntimeError("sbatch: unexpected output '" + line + "' (expected a job id from --parsable)");
  return id;
}

}  // namespace ps::slurm
