#include "tests/data/store/kill_hook.h"

#include <dlfcn.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <exception>
#include <filesystem>

#include "data/store/journal.h"

namespace ps::store::testing {
namespace {
std::atomic<bool> armed{false};
std::atomic<int64_t> count{0}, kill_at_write{0};

using PwriteFn = ssize_t (*)(int, const void*, size_t, off_t);
PwriteFn real_pwrite() {
  static PwriteFn f = reinterpret_cast<PwriteFn>(dlsym(RTLD_NEXT, "pwrite"));
  return f;
}
}  // namespace

void arm_pwrite_hook(int64_t kill_at) {
  count = 0;
  kill_at_write = kill_at;
  armed = true;
}

int64_t disarm_pwrite_hook() {
  armed = false;
  return count;
}

int in_child(const std::function<int64_t()>& body, int64_t* out) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    try {
      int64_t v = body();
      if (write(fds[1], &v, sizeof v) != sizeof v) _exit(3);
      _exit(0);
    } catch (const std::exception& e) {
      fprintf(stderr, "child: %s\n", e.what());
      _exit(2);
    }
  }
  close(fds[1]);
  int64_t v = -1;
  if (read(fds[0], &v, sizeof v) == sizeof v && out) *out = v;
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

bool killed(int status) { return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL; }

void copy_store(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  fs::remove(to + ".commit");
  if (fs::exists(from + ".commit")) fs::copy_file(from + ".commit", to + ".commit");
}

bool journal_says_flushing(const std::string& store) {
  Journal j;
  return load_journal(store, j) && j.flushing;
}

}  // namespace ps::store::testing

using namespace ps::store::testing;

extern "C" ssize_t pwrite(int fd, const void* buf, size_t n, off_t off) {
  if (armed) {
    int64_t k = ++count;
    if (k == kill_at_write) kill(getpid(), SIGKILL);
  }
  return real_pwrite()(fd, buf, n, off);
}

extern "C" ssize_t pwrite64(int fd, const void* buf, size_t n, off_t off) { return pwrite(fd, buf, n, off); }
