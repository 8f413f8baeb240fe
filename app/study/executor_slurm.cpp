// Submission half of the Slurm executor: scripts, submit.sh, jobs.tsv and the sbatch calls.
#include "app/study/executor_slurm.h"

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>

#include "app/slurm/command.h"
#include "app/slurm/job_state.h"
#include "app/slurm/sbatch.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::study {
namespace fs = std::filesystem;

namespace {

const ExecutorRegistration kRegistration{"slurm", [] { return std::unique_ptr<Executor>(new SlurmExecutor()); }};

std::string table(const Plan& plan, const std::string& key) {
  auto it = plan.slurm.find(key);
  return it == plan.slurm.end() ? "" : it->second;
}

int positive_int(const Plan& plan, const std::string& key) {
  std::string v = table(plan, key);
  if (v.empty()) return 0;
  if (v.find_first_not_of("0123456789") != std::string::npos || std::stol(v) < 1 || v.size() > 9)
    throw InputError(where(plan.study_file, "[slurm] " + key + " = '" + v + "': expected a positive integer"));
  return std::stoi(v);
}

// "[slurm] extra" is a ';'-separated list of sbatch options; partition and account have their own keys.
std::vector<std::string> extra_options(const Plan& plan) {
  std::vector<std::string> out;
  if (auto p = table(plan, "partition"); !p.empty()) out.push_back("--partition=" + p);
  if (auto a = table(plan, "account"); !a.empty()) out.push_back("--account=" + a);
  std::istringstream in(table(plan, "extra"));
  for (std::string opt; std::getline(in, opt, ';');) {
    opt.erase(0, opt.find_first_not_of(' '));
    opt.erase(opt.find_last_not_of(' ') + 1);
    if (opt.empty()) continue;
    if (opt.rfind("--", 0) != 0 || opt == "--wait" || opt.rfind("--wait=", 0) == 0 || opt.rfind("--array", 0) == 0)
      throw InputError(where(plan.study_file, "[slurm] extra: '" + opt +
                                                  "' is not an sbatch option the executor can add (--array and "
                                                  "--wait are its own)"));
    out.push_back(opt);
  }
  return out;
}

std::string shell_var(const std::string& stage, int chunk) {
  std::string v = "job_";
  for (char c : stage) v += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return v + "_" + std::to_string(chunk);
}

}  // namespace

std::string slurm_dir(const Plan& plan) { return (fs::path(plan.dir) / "slurm").string(); }

void write_slurm_jobs(const Plan& plan, const std::vector<SlurmJob>& jobs) {
  std::ostringstream s;
  s << "stage\tchunk\toffset\tsize\tjob_id\tscript\n";
  for (const auto& j : jobs)
    s << j.stage << "\t" << j.chunk << "\t" << j.offset << "\t" << j.size << "\t" << (j.job_id.empty() ? "-" : j.job_id)
      << "\t" << j.script << "\n";
  write_file_atomic(slurm_dir(plan) + "/jobs.tsv", s.str());
}

std::vector<SlurmJob> read_slurm_jobs(const Plan& plan) {
  const std::string path = slurm_dir(plan) + "/jobs.tsv";
  std::vector<SlurmJob> jobs;
  if (!file_exists(path)) return jobs;
  std::istringstream in(read_file(path));
  std::string line;
  std::getline(in, line);  // header
  for (int n = 2; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    std::istringstream f(line);
    SlurmJob j;
    std::string chunk, offset, size;
    if (!std::getline(f, j.stage, '\t') || !std::getline(f, chunk, '\t') || !std::getline(f, offset, '\t') ||
        !std::getline(f, size, '\t') || !std::getline(f, j.job_id, '\t') || !std::getline(f, j.script))
      throw InputError(where(path, "line " + std::to_string(n) + ": expected 6 tab-separated fields"));
    try {
      j.chunk = std::stoi(chunk);
      j.offset = std::stoi(offset);
      j.size = std::stoi(size);
    } catch (const std::exception&) {
      throw InputError(where(path, "line " + std::to_string(n) + ": chunk, offset and size must be integers"));
    }
    if (j.job_id == "-") j.job_id.clear();
    jobs.push_back(j);
  }
  return jobs;
}

std::vector<SlurmJob> SlurmExecutor::submit(const Plan& plan, const ExecutorOptions& options) {
  const std::string sdir = slurm_dir(plan);
  fs::create_directories(fs::path(sdir) / "logs");
  // MaxArraySize from the cluster; a dry run may have no cluster to ask (Slurm's default then).
  int max_array = 1001;
  try {
    max_array = slurm::max_array_size();
  } catch (const Error&) {
    if (!options.dry_run) throw;
  }
  if (int cap = positive_int(plan, "max_array_size"); cap > 0) max_array = std::min(max_array, cap);
  const std::vector<std::string> extra = extra_options(plan);

  std::vector<SlurmJob> jobs;
  std::map<std::string, std::vector<std::string>> stage_ids, stage_vars;  // what a dependant waits for
  std::ostringstream chain;
  chain << "#!/bin/bash\n# The study's Slurm submission chain, as the executor ran it (`bash submit.sh` resubmits it).\n"
        << "set -euo pipefail\ncd " << slurm::shell_quote(sdir) << "\n";
  for (const Stage& stage : plan.stages) {
    bool all_done = true;
    for (const Task& t : stage.tasks) all_done = all_done && task_done(t);
    if (stage.tasks.empty() || all_done) continue;  // nothing to run; dependants need not wait for it
    std::vector<std::string> after, after_vars;
    for (const auto& dep : stage.depends_on) {
      after.insert(after.end(), stage_ids[dep].begin(), stage_ids[dep].end());
      after_vars.insert(after_vars.end(), stage_vars[dep].begin(), stage_vars[dep].end());
    }
    slurm::StageArray sa;
    sa.stage = stage.name;
    sa.tasks = int(stage.tasks.size());
    sa.command = exec_task_prefix(plan, stage.name);
    sa.workdir = plan.dir;
    sa.log_dir = sdir + "/logs";  // exec-task appends the task's own output to Task::log
    sa.cpus_per_task = std::max(1, stage.cpus_per_task);
    sa.mem_mb = stage.mem_mb;
    sa.time_limit = stage.time_limit;
    sa.extra = extra;
    sa.env = options.env;
    const auto chunks = slurm::chunk_tasks(sa.tasks, max_array);
    for (size_t c = 0; c < chunks.size(); ++c) {
      SlurmJob job{stage.name, int(c), chunks[c].offset, chunks[c].size, "",
                   sdir + "/" + slurm::script_name(stage.name, int(c))};
      write_file_atomic(job.script, slurm::render_script(sa, chunks[c], int(c), int(chunks.size())));
      const std::string var = shell_var(stage.name, int(c));
      std::vector<std::string> shown = slurm::submit_argv(fs::path(job.script).filename().string(), after_vars);
      chain << var << "=$(";
      for (size_t i = 0; i < shown.size(); ++i) chain << (i ? " " : "") << shown[i];
      chain << " | cut -d';' -f1)\necho \"" << stage.name << " chunk " << c << ": job $" << var << "\"\n";
      if (!options.dry_run) {
        auto argv = slurm::submit_argv(job.script, after);
        slurm::CommandOutput r = slurm::run_command(argv);
        if (r.rc != 0)
          throw RuntimeError("study: submitting " + job.script + ": " + slurm::describe_failure(argv, r) +
                             (jobs.empty() ? "" : " (jobs already submitted are listed in " + sdir + "/jobs.tsv)"));
        job.job_id = slurm::parse_submitted_id(r.out);
        std::fprintf(stderr, "study: slurm: %s tasks %d..%d: job %s\n", stage.name.c_str(), job.offset,
                     job.offset + job.size - 1, job.job_id.c_str());
      }
      stage_ids[stage.name].push_back(job.job_id);
      stage_vars[stage.name].push_back("${" + var + "}");
      jobs.push_back(job);
      if (!options.dry_run) write_slurm_jobs(plan, jobs);  // a failure later still leaves the ids on record
    }
  }
  write_file_atomic(sdir + "/submit.sh", chain.str());
  fs::permissions(sdir + "/submit.sh", fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                  fs::perm_options::add);
  if (options.dry_run) write_slurm_jobs(plan, jobs);
  return jobs;
}

RunReport SlurmExecutor::run(const Plan& plan, const ExecutorOptions& options) {
  std::vector<SlurmJob> jobs = submit(plan, options);
  if (!options.dry_run) record_executor(plan, name());
  const std::string wait = table(plan, "wait");
  if (wait != "" && wait != "true" && wait != "false")
    throw InputError(where(plan.study_file, "[slurm] wait = '" + wait + "': expected true or false"));
  if (options.dry_run || wait == "false") {
    RunReport report;
    for (const Stage& stage : plan.stages)
      for (const Task& t : stage.tasks) {
        TaskOutcome o{t.id, t.stage, t.index, task_done(t) ? TaskState::done : TaskState::pending, 0, t.log, ""};
        if (o.state == TaskState::done) {
          ++report.skipped;
        } else {
          ++report.pending;
          if (!options.dry_run) ++report.submitted;
        }
        report.tasks.push_back(o);
      }
    std::fprintf(stderr, "study: slurm: %s %zu array job(s); scripts in %s\n",
                 options.dry_run ? "wrote (dry run, nothing submitted)" : "submitted", jobs.size(),
                 slurm_dir(plan).c_str());
    return report;
  }
  return monitor(plan, jobs);
}

}  // namespace ps::study
