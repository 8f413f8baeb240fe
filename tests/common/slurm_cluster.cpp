#include "tests/common/slurm_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifndef PS_SOURCE_DIR
#error "PS_SOURCE_DIR must name the source tree (script/slurm-cluster writes the cluster's files)"
#endif

extern char** environ;

namespace ps::test {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string tail(const fs::path& p, size_t n = 1500) {
  std::string s = read_all(p);
  return s.size() > n ? s.substr(s.size() - n) : s;
}

bool on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = std::string(path ? path : "") + ":/usr/sbin:/sbin";
  std::stringstream ss(dirs);
  for (std::string d; std::getline(ss, d, ':');)
    if (!d.empty() && access((fs::path(d) / name).c_str(), X_OK) == 0) return true;
  return false;
}

// A TCP port free on 127.0.0.1 right now (bound to 0, then released); start retries on the rare race.
int free_port() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = -1;
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(s);
  if (port <= 0) throw std::runtime_error("slurm cluster: no free TCP port on 127.0.0.1");
  return port;
}

std::vector<std::string> split_words(const std::string& line) {
  std::vector<std::string> w;
  std::istringstream in(line);
  for (std::string s; in >> s;) w.push_back(s);
  return w;
}

// fork + exec with stdout/stderr to files; the child dies with this process when `die_with_parent`.
pid_t spawn_to(const std::vector<std::string>& argv, const fs::path& out, const fs::path& err,
               bool die_with_parent) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("slurm cluster: fork failed");
  if (pid == 0) {
    if (die_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
    }
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int n = open("/dev/null", O_RDONLY);
    if (o < 0 || e < 0 || n < 0) _exit(127);
    dup2(n, 0);
    dup2(o, 1);
    dup2(e, 2);
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

int wait_status(pid_t pid) {
  int st = 0;
  if (waitpid(pid, &st, 0) < 0) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// True once `pid` has exited (reaped), waiting up to `timeout_s`.
bool reap_within(pid_t pid, double timeout_s) {
  auto end = Clock::now() + std::chrono::duration<double>(timeout_s);
  while (Clock::now() < end) {
    int st = 0;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid || r < 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::atomic<int> g_command_counter{0};

}  // namespace

std::string SlurmCluster::missing_binaries() {
  std::string missing;
  for (const char* b : {"munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "sacct", "scontrol",
                        "scancel", "sinfo", "python3"})
    if (!on_path(b)) missing += std::string(missing.empty() ? "" : ", ") + b;
  if (missing.empty()) return "";
  return "Slurm binaries not installed (" + missing +
         "): apt-get install slurmctld slurmd slurm-client munge (script/bootstrap does)";
}

SlurmCluster::SlurmCluster(const fs::path& link, SlurmClusterOptions options) : options_(options) {
  if (auto m = missing_binaries(); !m.empty()) throw std::runtime_error(m);
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && std::strlen(tmp) < 40 ? tmp : "/tmp") + "/pss.XXXXXX";
  if (!mkdtemp(pattern.data())) throw std::runtime_error("slurm cluster: cannot create " + pattern);
  dir_ = pattern;
  fs::create_directories(fs::absolute(link).parent_path());
  fs::create_symlink(dir_, link);
  std::string why;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (start_once(why)) return;
    kill_daemons();
    fs::remove_all(dir_ / "state");
    fs::remove_all(dir_ / "spool");
  }
  throw std::runtime_error("slurm cluster under " + dir_.string() + " did not come up: " + why);
}

SlurmCluster::~SlurmCluster() { stop(); }

bool SlurmCluster::start_once(std::string& why) {
  auto t0 = Clock::now();
  fs::create_directories(dir_);
  // script/slurm-cluster conf writes slurm.conf, the munge key and the daemons' foreground command lines.
  std::vector<std::string> conf_cmd = {std::string(PS_SOURCE_DIR) + "/script/slurm-cluster",
                                       "conf",
                                       dir_.string(),
                                       std::to_string(free_port()),
                                       std::to_string(free_port()),
                                       "--max-array-size",
                                       std::to_string(options_.max_array_size)};
  if (options_.cpus > 0) {
    conf_cmd.push_back("--cpus");
    conf_cmd.push_back(std::to_string(options_.cpus));
  }
  fs::create_directories(dir_ / "log");
  pid_t c = spawn_to(conf_cmd, dir_ / "log" / "conf.out", dir_ / "log" / "conf.err", true);
  if (wait_status(c) != 0) {
    why = "script/slurm-cluster conf failed: " + tail(dir_ / "log" / "conf.err");
    return false;
  }
  std::istringstream lines(read_all(dir_ / "etc" / "commands"));
  std::vector<std::vector<std::string>> commands;
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) commands.push_back(split_words(line));
  if (commands.size() != 3) {
    why = "unexpected etc/commands (want munged, slurmctld, slurmd)";
    return false;
  }
  const fs::path socket = dir_ / "munge" / "sock" / "munge.socket.2";
  for (size_t i = 0; i < commands.size(); ++i) {
    const std::string name = commands[i][0];
    pids_.push_back(spawn_to(commands[i], dir_ / "log" / (name + ".out"), dir_ / "log" / (name + ".out.err"), true));
    if (i == 0) {  // both Slurm daemons authenticate through munged: wait for its socket
      auto end = Clock::now() + std::chrono::seconds(10);
      while (!fs::exists(socket) && Clock::now() < end) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (!fs::exists(socket)) {
        why = "munged did not create its socket: " + tail(dir_ / "log" / "munged.log") +
              tail(dir_ / "log" / "munged.out.err");
        return false;
      }
    }
  }
  // Idle = slurmctld answers and slurmd registered the node. A daemon that exited (a port taken) fails fast.
  auto end = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < end) {
    for (size_t i = 0; i < pids_.size(); ++i) {
      int st = 0;
      if (waitpid(pids_[i], &st, WNOHANG) == pids_[i]) {
        pids_[i] = -1;
        why = commands[i][0] + " exited during start: " + tail(dir_ / "log" / (commands[i][0] + ".log")) +
              tail(dir_ / "log" / (commands[i][0] + ".out.err"));
        return false;
      }
    }
    CommandResult r = run({"sinfo", "-h", "-N", "-o", "%T"});
    if (r.rc == 0 && r.out.rfind("idle", 0) == 0) {
      start_seconds_ = std::chrono::duration<double>(Clock::now() - t0).count();
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  why = "node not idle after 60 s: " + tail(dir_ / "log" / "slurmctld.log") + tail(dir_ / "log" / "slurmd.log");
  return false;
}

void SlurmCluster::export_env() const {
  setenv("SLURM_CONF", conf().c_str(), 1);
  // Inside an enclosing Slurm job these would make sbatch/scontrol describe that job, not ours.
  for (const char* v : {"SLURM_JOB_ID", "SLURM_JOBID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID",
                        "SLURM_CPUS_PER_TASK", "SLURM_CLUSTERS"})
    unsetenv(v);
}

CommandResult SlurmCluster::run(const std::vector<std::string>& argv) const {
  // Clients read SLURM_CONF from the environment: set it only for the child (fork copies it).
  fs::create_directories(dir_ / "client");
  int n = g_command_counter++;
  fs::path out = dir_ / "client" / (std::to_string(getpid()) + "_" + std::to_string(n) + ".out");
  fs::path err = dir_ / "client" / (std::to_string(getpid()) + "_" + std::to_string(n) + ".err");
  std::vector<std::string> env_argv = {"env", "SLURM_CONF=" + conf().string()};
  env_argv.insert(env_argv.end(), argv.begin(), argv.end());
  CommandResult r;
  r.rc = wait_status(spawn_to(env_argv, out, err, true));
  r.out = read_all(out);
  r.err = read_all(err);
  fs::remove(out);
  fs::remove(err);
  return r;
}

bool SlurmCluster::wait_drained(double timeout_s) const {
  auto end = Clock::now() + std::chrono::duration<double>(timeout_s);
  while (Clock::now() < end) {
    CommandResult r = run({"squeue", "-h", "-t", "PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED,REQUEUED", "-o", "%i"});
    if (r.rc == 0 && r.out.find_first_not_of(" \n") == std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

void SlurmCluster::kill_daemons() {
  // slurmd and slurmctld together (each takes ~1 s to shut down), then munged, which both were using.
  for (int phase = 0; phase < 2; ++phase) {
    std::vector<size_t> which = phase == 0 ? std::vector<size_t>{2, 1} : std::vector<size_t>{0};
    for (size_t i : which)
      if (i < pids_.size() && pids_[i] > 0) kill(pids_[i], SIGTERM);
    for (size_t i : which) {
      if (i >= pids_.size() || pids_[i] <= 0) continue;
      if (!reap_within(pids_[i], 5)) {
        kill(pids_[i], SIGKILL);
        waitpid(pids_[i], nullptr, 0);
      }
      pids_[i] = -1;
    }
  }
  pids_.clear();
}

void SlurmCluster::stop() {
  if (!pids_.empty()) {
    // Jobs first: their slurmstepd processes would otherwise outlive slurmd.
    run({"scancel", "--quiet", "--user", std::to_string(getuid())});
    wait_drained(15);
    kill_daemons();
  }
  if (dir_.empty() || !fs::exists(dir_)) return;
  if (::testing::Test::HasFailure()) {
    std::fprintf(stderr, "slurm cluster: kept %s (logs in log/)\n", dir_.c_str());
  } else {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

}  // namespace ps::test
