// exec-task: one task of a plan, idempotent, locked, logged, marked done atomically only on success.
#include "app/study/task_state.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "app/study/best_layer.h"
#include "app/study/executor.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::study {

namespace fs = std::filesystem;

const char* state_name(TaskState s) {
  switch (s) {
    case TaskState::pending: return "pending";
    case TaskState::running: return "running";
    case TaskState::done: return "done";
    case TaskState::failed: return "failed";
    case TaskState::cancelled: return "cancelled";
  }
  return "?";
}

namespace {

TaskState parse_state(const std::string& s) {
  for (TaskState t : {TaskState::pending, TaskState::running, TaskState::done, TaskState::failed, TaskState::cancelled})
    if (s == state_name(t)) return t;
  return TaskState::pending;
}

std::string now_utc() {
  char buf[32];
  const std::time_t t = std::time(nullptr);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string hostname() {
  char buf[256] = {0};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

volatile sig_atomic_t g_child = 0;
extern "C" void forward_signal(int sig) {
  if (g_child > 0) kill(g_child, sig);
}

}  // namespace

std::string state_path(const std::string& dir, const std::string& stage, int index) {
  return (fs::path(dir) / "state" / (stage + "." + std::to_string(index) + ".json")).string();
}

std::string done_path(const Task& task) { return (fs::path(task.output_dir) / ".done").string(); }

bool task_done(const Task& task) {
  const std::string p = done_path(task);
  if (!file_exists(p)) return false;
  try {
    return nlohmann::json::parse(read_file(p)).value("hash", "") == task.hash;
  } catch (const std::exception&) {
    return false;
  }
}

TaskRecord read_task_state(const Plan& plan, const Task& task) {
  TaskRecord r;
  const std::string p = state_path(plan.dir, task.stage, task.index);
  if (file_exists(p)) {
    try {
      const auto j = nlohmann::json::parse(read_file(p));
      r.state = parse_state(j.value("state", "pending"));
      r.exit_code = j.value("exit_code", 0), r.host = j.value("host", ""), r.pid = j.value("pid", 0L);
      r.started = j.value("started", ""), r.ended = j.value("ended", ""), r.message = j.value("message", "");
      r.executor_id = j.value("executor_id", "");
    } catch (const std::exception&) {
      r.message = p + ": unreadable state record";
    }
  }
  if (task_done(task)) {
    r.state = TaskState::done;
    return r;
  }
  if (r.state == TaskState::done) r.state = TaskState::pending;  // done elsewhere under another hash: stale
  if (r.state == TaskState::running && r.host == hostname() && r.pid > 0 && kill(static_cast<pid_t>(r.pid), 0) != 0 &&
      errno == ESRCH) {
    r.state = TaskState::failed;
    r.message = "interrupted (process " + std::to_string(r.pid) + " is gone); rerun to resume";
  }
  return r;
}

void write_task_state(const Plan& plan, const Task& task, const TaskRecord& r) {
  const std::string p = state_path(plan.dir, task.stage, task.index);
  fs::create_directories(fs::path(p).parent_path());
  const nlohmann::json j = {{"id", task.id},       {"hash", task.hash},   {"state", state_name(r.state)},
                            {"exit_code", r.exit_code}, {"host", r.host}, {"pid", r.pid},
                            {"started", r.started}, {"ended", r.ended},   {"message", r.message},
                            {"executor_id", r.executor_id}, {"log", task.log}};
  write_file_atomic(p, j.dump(1) + "\n");
}

int exec_task(const std::string& dir, const std::string& stage, int index, int threads, const std::string& executor_id) {
  const Plan plan = read_plan(dir);
  const Task& task = plan.task(stage, index);
  if (task_done(task)) {
    std::fprintf(stderr, "study: %s: already done (%s)\n", task.id.c_str(), task.hash.substr(0, 12).c_str());
    return 0;
  }
  for (const auto& d : task.depends_on) {
    const Task* dep = plan.find_task(d);
    if (!dep) throw InputError(plan_path(dir) + ": task " + task.id + " depends on unknown task " + d);
    if (!task_done(*dep)) throw RuntimeError(task.id + ": dependency " + d + " is not done (see " + dep->log + ")");
  }
  fs::create_directories(task.output_dir);
  fs::create_directories(fs::path(task.log).parent_path());
  if (plan.stage(stage).kind == "figures") fs::create_directories(task.output);  // plot writes files into it
  // One runner per output at a time, across studies sharing a cache; the lock dies with the process.
  const std::string lock_path = (fs::path(task.output_dir) / ".lock").string();
  const int lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0 || flock(lock_fd, LOCK_EX) != 0) throw RuntimeError(lock_path + ": cannot lock");
  if (task_done(task)) {  // finished by another study while we waited
    close(lock_fd);
    return 0;
  }
  std::vector<std::string> argv = task.argv;
  const std::string thread_text = std::to_string(resolve_threads(threads));
  for (auto& a : argv) {
    if (a == "{threads}") a = thread_text;
    if (a == "{best-layer}") a = std::to_string(best_layer(task));
  }
  TaskRecord rec;
  rec.state = TaskState::running, rec.host = hostname(), rec.pid = getpid(), rec.started = now_utc();
  rec.executor_id = executor_id;
  write_task_state(plan, task, rec);

  const int log_fd = open(task.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw RuntimeError(task.log + ": cannot open the task log");
  std::string header = "== study task " + task.id + " (" + task.hash.substr(0, 12) + ") on " + rec.host + " at " +
                       rec.started + ":";
  for (const auto& a : argv) header += " " + a;
  header += "\n";
  if (write(log_fd, header.data(), header.size()) < 0) {}
  std::fprintf(stderr, "study: %s: running (log %s)\n", task.id.c_str(), task.log.c_str());

  struct sigaction sa {}, old_term {}, old_int {};
  sa.sa_handler = forward_signal;
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGINT, &sa, &old_int);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    execv(cargv[0], cargv.data());
    std::fprintf(stderr, "study: cannot run %s: %s\n", cargv[0], std::strerror(errno));
    _exit(127);
  }
  if (pid < 0) throw RuntimeError(task.id + ": fork failed");
  g_child = pid;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  g_child = 0;
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGINT, &old_int, nullptr);
  close(log_fd);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  rec.ended = now_utc();
  rec.exit_code = code;
  if (code == 0) {
    write_file_atomic(done_path(task), nlohmann::json({{"hash", task.hash}, {"id", task.id}, {"ended", rec.ended}}).dump() + "\n");
    rec.state = TaskState::done;
    write_task_state(plan, task, rec);
    std::fprintf(stderr, "study: %s: done\n", task.id.c_str());
  } else {
    rec.state = TaskState::failed;
    rec.message = "exit " + std::to_string(code) + "; see " + task.log;
    write_task_state(plan, task, rec);
    std::fprintf(stderr, "study: %s: failed (exit %d); log: %s\n", task.id.c_str(), code, task.log.c_str());
  }
  close(lock_fd);
  return code == 0 ? 0 : (code > 255 ? 1 : code);
}

}  // namespace ps::study
