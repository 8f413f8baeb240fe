// The local executor: ready tasks run as `probescope study exec-task` processes, --jobs at a time, the threads
// split between them; a failed task's dependants are not run.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <map>
#include <set>

#include "app/study/executor.h"
#include "models/util/error.h"

extern char** environ;

namespace ps::study {

namespace {

volatile sig_atomic_t g_stop = 0;
extern "C" void stop_launching(int) { g_stop = 1; }

class LocalExecutor : public Executor {
 public:
  std::string name() const override { return "local"; }

  RunReport run(const Plan& plan, const ExecutorOptions& o) override {
    if (o.jobs < 1) throw InputError("--jobs " + std::to_string(o.jobs) + ": must be at least 1");
    RunReport report;
    std::map<std::string, size_t> at;  // id → index in report.tasks
    std::vector<const Task*> tasks;
    for (const auto& st : plan.stages)
      for (const auto& t : st.tasks) {
        TaskOutcome out{t.id, t.stage, t.index, TaskState::pending, 0, t.log, ""};
        if (task_done(t)) out.state = TaskState::done, out.message = "already done", ++report.skipped;
        at[t.id] = report.tasks.size();
        report.tasks.push_back(out);
        tasks.push_back(&t);
      }
    const int total_threads = resolve_threads(o.threads);
    const int share = std::max(1, total_threads / o.jobs);
    if (o.dry_run) {
      for (size_t i = 0; i < tasks.size(); ++i)
        if (report.tasks[i].state != TaskState::done) {
          std::printf("would run %s:", tasks[i]->id.c_str());
          for (const auto& a : exec_task_argv(plan, tasks[i]->stage, tasks[i]->index)) std::printf(" %s", a.c_str());
          std::printf(" --threads %d\n", share);
          ++report.pending;
        }
      return report;
    }
    record_executor(plan, name());
    std::vector<std::string> env_store;
    for (char** e = environ; *e; ++e) env_store.push_back(*e);
    env_store.insert(env_store.end(), o.env.begin(), o.env.end());
    std::vector<char*> envp;
    for (auto& e : env_store) envp.push_back(e.data());
    envp.push_back(nullptr);

    struct sigaction sa {}, old_term {}, old_int {};
    sa.sa_handler = stop_launching;
    g_stop = 0;
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGINT, &sa, &old_int);
    std::map<pid_t, size_t> running;
    auto ready = [&](size_t i) {
      if (report.tasks[i].state != TaskState::pending) return false;
      for (const auto& d : tasks[i]->depends_on)
        if (report.tasks[at.at(d)].state != TaskState::done) return false;
      return true;
    };
    auto cancel_dependants = [&](const std::string& failed) {
      bool changed = true;
      while (changed) {
        changed = false;
        for (size_t i = 0; i < tasks.size(); ++i) {
          if (report.tasks[i].state != TaskState::pending) continue;
          for (const auto& d : tasks[i]->depends_on) {
            const auto s = report.tasks[at.at(d)].state;
            if (s == TaskState::failed || s == TaskState::cancelled) {
              report.tasks[i].state = TaskState::cancelled;
              report.tasks[i].message = "not run: " + failed + " failed";
              TaskRecord rec;
              rec.state = TaskState::cancelled;
              rec.message = report.tasks[i].message;
              write_task_state(plan, *tasks[i], rec);
              ++report.cancelled;
              changed = true;
              break;
            }
          }
        }
      }
    };
    bool stopping = false;
    for (;;) {
      if (g_stop && !stopping) {
        stopping = true;
        for (const auto& [pid, i] : running) kill(pid, SIGTERM);  // each commits and exits resumable
      }
      if (!stopping)
        for (size_t i = 0; i < tasks.size() && static_cast<int>(running.size()) < o.jobs; ++i) {
          if (!ready(i)) continue;
          std::vector<std::string> argv = exec_task_argv(plan, tasks[i]->stage, tasks[i]->index);
          argv.insert(argv.end(), {"--threads", std::to_string(share)});
          std::vector<char*> cargv;
          for (auto& a : argv) cargv.push_back(a.data());
          cargv.push_back(nullptr);
          pid_t pid = -1;
          if (posix_spawn(&pid, cargv[0], nullptr, nullptr, cargv.data(), envp.data()) != 0)
            throw RuntimeError(plan.probescope + ": cannot start exec-task");
          report.tasks[i].state = TaskState::running;
          running[pid] = i;
        }
      if (running.empty()) break;
      int status = 0;
      const pid_t pid = waitpid(-1, &status, 0);
      if (pid < 0) {
        if (errno == EINTR) continue;
        break;
      }
      const auto it = running.find(pid);
      if (it == running.end()) continue;
      const size_t i = it->second;
      running.erase(it);
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      auto& out = report.tasks[i];
      out.exit_code = code;
      if (code == 0) {
        out.state = TaskState::done;
        ++report.done;
      } else {
        out.state = TaskState::failed;
        out.message = stopping ? "interrupted; rerun to resume" : "exit " + std::to_string(code);
        ++report.failed;
        cancel_dependants(out.id);
      }
    }
    sigaction(SIGTERM, &old_term, nullptr);
    sigaction(SIGINT, &old_int, nullptr);
    for (const auto& t : report.tasks) report.pending += t.state == TaskState::pending;
    if (stopping) report.failed += 0;
    return report;
  }
};

}  // namespace

static const ExecutorRegistration local_registration{"local", [] { return std::unique_ptr<Executor>(new LocalExecutor()); }};

}  // namespace ps::study
