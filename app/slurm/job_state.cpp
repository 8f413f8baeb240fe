#include "app/slurm/job_state.h"

#include <sstream>

#include "app/slurm/command.h"
#include "models/util/error.h"

namespace ps::slurm {

bool is_final(TaskState s) {
  return s == TaskState::completed || s == TaskState::failed || s == TaskState::cancelled;
}

const char* to_string(TaskState s) {
  switch (s) {
    case TaskState::pending: return "pending";
    case TaskState::running: return "running";
    case TaskState::completed: return "done";
    case TaskState::failed: return "failed";
    case TaskState::cancelled: return "cancelled";
    case TaskState::unknown: break;
  }
  return "unknown";
}

TaskState classify(const std::string& slurm_state) {
  // sacct writes "CANCELLED by 0"; squeue may append "+" to a state with flags.
  std::string s = slurm_state.substr(0, slurm_state.find_first_of(" +"));
  if (s == "PENDING" || s == "REQUEUED" || s == "REQUEUE_HOLD" || s == "REQUEUE_FED" || s == "CONFIGURING" ||
      s == "SUSPENDED" || s == "RESV_DEL_HOLD" || s == "STOPPED")
    return TaskState::pending;
  if (s == "RUNNING" || s == "COMPLETING" || s == "RESIZING" || s == "SIGNALING" || s == "STAGE_OUT")
    return TaskState::running;
  if (s == "COMPLETED") return TaskState::completed;
  if (s == "CANCELLED" || s == "REVOKED") return TaskState::cancelled;
  if (s == "FAILED" || s == "TIMEOUT" || s == "NODE_FAIL" || s == "OUT_OF_MEMORY" || s == "BOOT_FAIL" ||
      s == "DEADLINE" || s == "PREEMPTED" || s == "SPECIAL_EXIT")
    return TaskState::failed;
  return TaskState::unknown;
}

namespace {

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> f;
  std::string cur;
  std::istringstream in(line);
  while (std::getline(in, cur, sep)) f.push_back(cur);
  if (!line.empty() && line.back() == sep) f.push_back("");
  return f;
}

bool all_digits(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

}  // namespace

std::vector<int> expand_index_list(const std::string& spec_in) {
  std::string spec = spec_in;
  if (!spec.empty() && spec.front() == '[') spec = spec.substr(1, spec.find(']') - 1);
  spec = spec.substr(0, spec.find('%'));  // "%2": the array's concurrency limit, not an index
  std::vector<int> out;
  for (const auto& part : split(spec, ',')) {
    auto dash = part.find('-');
    std::string a = part.substr(0, dash), b = dash == std::string::npos ? a : part.substr(dash + 1);
    if (!all_digits(a) || !all_digits(b)) throw RuntimeError("slurm: cannot read array index list '" + spec_in + "'");
    for (int i = std::stoi(a); i <= std::stoi(b); ++i) out.push_back(i);
  }
  return out;
}

std::vector<TaskRecord> parse_squeue(const std::string& out) {
  std::vector<TaskRecord> rows;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    auto f = split(line, '|');
    if (f.size() < 4) throw RuntimeError("squeue: cannot read line '" + line + "'");
    TaskRecord r;
    r.raw_id = f[0];
    r.array_job = f[1];
    r.slurm_state = f[3];
    r.reason = f.size() > 4 ? f[4] : "";
    r.state = classify(r.slurm_state);
    if (all_digits(f[2])) {
      r.index = std::stoi(f[2]);
    } else if (f[2] == "N/A" || f[2].empty()) {
      r.index = -1;
    } else {  // an unexpanded pending range (squeue without -r): one row per index
      for (int i : expand_index_list(f[2])) {
        TaskRecord e = r;
        e.index = i;
        e.raw_id.clear();
        rows.push_back(e);
      }
      continue;
    }
    // A pending array task has no id of its own yet: %A shows the array's.
    if (r.state == TaskState::pending && r.index >= 0 && r.raw_id == r.array_job) r.raw_id.clear();
    rows.push_back(r);
  }
  return rows;
}

std::vector<TaskRecord> parse_sacct(const std::string& out) {
  std::vector<TaskRecord> rows;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    auto f = split(line, '|');
    if (f.size() < 3) throw RuntimeError("sacct: cannot read line '" + line + "'");
    const std::string& id = f[0];
    if (id.find('.') != std::string::npos) continue;  // a step (".batch"), not the job
    TaskRecord r;
    r.raw_id = f[1];
    r.slurm_state = f[2];
    r.exit_code = f.size() > 3 ? f[3] : "";
    r.state = classify(r.slurm_state);
    auto us = id.find('_');
    if (us == std::string::npos) {
      r.array_job = id;
      r.index = -1;
      rows.push_back(r);
      continue;
    }
    r.array_job = id.substr(0, us);
    std::string idx = id.substr(us + 1);
    if (all_digits(idx)) {
      r.index = std::stoi(idx);
      rows.push_back(r);
    } else {
      for (int i : expand_index_list(idx)) {
        TaskRecord e = r;
        e.index = i;
        e.raw_id.clear();
        rows.push_back(e);
      }
    }
  }
  return rows;
}

std::vector<TaskRecord> StatePoller::query_sacct() {
  std::string ids;
  for (const auto& [id, n] : arrays_) ids += (ids.empty() ? "" : ",") + id;
  const std::vector<std::string> fields = {"-X", "-n", "-P", "-o", "JobID,JobIDRaw,State,ExitCode"};
  if (!completion_file_) {
    std::vector<std::string> argv = {"sacct", "-j", ids};
    argv.insert(argv.end(), fields.begin(), fields.end());
    CommandOutput r = run_command(argv);
    if (r.rc == 0) return parse_sacct(r.out);
    if ((r.out + r.err).find("accounting storage is disabled") == std::string::npos)
      throw RuntimeError(describe_failure(argv, r));
    completion_file_ = true;
  }
  // The job-completion file names array tasks by their own job ids only: map back through squeue's.
  std::vector<std::string> argv = {"sacct", "--completion", "-a"};
  argv.insert(argv.end(), fields.begin(), fields.end());
  CommandOutput r = run_command(argv);
  if (r.rc != 0) throw RuntimeError(describe_failure(argv, r));
  std::vector<TaskRecord> rows;
  for (TaskRecord t : parse_sacct(r.out)) {
    auto known = raw_ids_.find(t.raw_id);
    if (known != raw_ids_.end()) {
      t.array_job = known->second.first;
      t.index = known->second.second;
    } else if (!arrays_.count(t.raw_id)) {
      continue;  // a job of someone else's
    }
    rows.push_back(t);
  }
  return rows;
}

std::map<TaskKey, TaskRecord> StatePoller::poll() {
  std::map<TaskKey, TaskRecord> states;
  if (arrays_.empty()) return states;
  std::string ids;
  for (const auto& [id, n] : arrays_) ids += (ids.empty() ? "" : ",") + id;
  std::vector<std::string> argv = {"squeue", "-h", "-r", "-t", "all", "-j", ids, "-o", "%A|%F|%K|%T|%r"};
  CommandOutput q = run_command(argv);
  // Every id purged (older than MinJobAge) is an error to squeue, not an empty list.
  if (q.rc != 0 && (q.out + q.err).find("Invalid job id") == std::string::npos)
    throw RuntimeError(describe_failure(argv, q));
  if (q.rc == 0) {
    for (TaskRecord& t : parse_squeue(q.out)) {
      if (t.index < 0) t.index = 0;  // a one-task array reported as a plain job
      if (!arrays_.count(t.array_job)) continue;
      if (!t.raw_id.empty()) raw_ids_[t.raw_id] = {t.array_job, t.index};
      states[{t.array_job, t.index}] = t;
    }
  }
  size_t expected = 0;
  for (const auto& [id, n] : arrays_) expected += size_t(n);
  if (states.size() < expected) {
    for (TaskRecord& t : query_sacct()) {
      if (t.index < 0) t.index = 0;
      TaskKey k{t.array_job, t.index};
      if (arrays_.count(t.array_job) && !states.count(k)) states[k] = t;
    }
  }
  for (const auto& [id, n] : arrays_)
    for (int i = 0; i < n; ++i)
      if (!states.count({id, i})) {
        TaskRecord u;
        u.array_job = id;
        u.index = i;
        states[{id, i}] = u;
      }
  return states;
}

int max_array_size() {
  std::vector<std::string> argv = {"scontrol", "show", "config"};
  CommandOutput r = run_command(argv);
  if (r.rc != 0) throw RuntimeError(describe_failure(argv, r));
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("MaxArraySize", 0) != 0) continue;
    auto eq = line.find('=');
    size_t at = eq == std::string::npos ? std::string::npos : line.find_first_not_of(' ', eq + 1);
    std::string v = at == std::string::npos ? "" : line.substr(at);
    if (!all_digits(v)) throw RuntimeError("scontrol show config: cannot read '" + line + "'");
    return std::stoi(v);
  }
  return 1001;
}

}  // namespace ps::slurm
