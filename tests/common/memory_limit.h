#pragma once
// Runs a load of an untrusted file in a forked child under a hard address-space limit (RLIMIT_AS), so a
// loader that allocates whatever the file claims fails the test quickly instead of swapping the machine
// or waking the OOM killer. The child reports how it ended through its exit status.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <new>
#include <string>

namespace ps::test {

// Address-space limits mean nothing under AddressSanitizer, which reserves terabytes of shadow memory.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

// Bytes of address space this process has mapped now (VmSize). LibTorch and OpenBLAS reserve much of it
// at start-up (about 1 GiB here), so limits are set relative to it.
inline int64_t mapped_bytes() {
  long pages = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld", &pages) != 1) pages = 0;
    std::fclose(f);
  }
  return int64_t(pages) * sysconf(_SC_PAGESIZE);
}

// How the child ended: exit code 0 means `load` returned 0 (the expected clean error).
struct ChildResult {
  int status = 0;
  bool ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
  std::string describe() const {
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    if (!WIFEXITED(status)) return "ended abnormally";
    switch (WEXITSTATUS(status)) {
      case 0: return "exited cleanly";
      case 3: return "ran out of memory (std::bad_alloc): the loader allocated what the file claims";
      case 4: return "threw an unexpected exception (see stderr)";
      default: return "exited with " + std::to_string(WEXITSTATUS(status)) + " (wrong or no error, see stderr)";
    }
  }
};

// Default room above what the process has mapped at the fork: far more than a good load of the tiny test
// models needs (a few MB), far less than the 20+ GB a trusting loader asks for.
constexpr int64_t kLoadHeadroom = int64_t(2) << 30;

// Forks; the child caps its address space at mapped_bytes() + headroom, runs `load` and exits with its
// result (3 on std::bad_alloc, 4 on any other escaping exception). The parent waits and returns how it ended.
inline ChildResult run_with_memory_limit(const std::function<int()>& load, int64_t headroom = kLoadHeadroom) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const rlim_t limit = rlim_t(mapped_bytes() + headroom);
    const rlimit rl{limit, limit};
    if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(5);
    int code = 4;
    try {
      code = load();
    } catch (const std::bad_alloc&) {
      code = 3;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: unexpected exception: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "child: unexpected non-std exception\n");
    }
    std::fflush(nullptr);
    _exit(code);
  }
  ChildResult r;
  if (pid < 0) {
    r.status = 0xff00;  // reads as "exited with 255"
    return r;
  }
  while (waitpid(pid, &r.status, 0) < 0) {
  }
  return r;
}

// For a child: 0 when `load` throws an E whose message contains `expected`, else 1 (message on stderr).
template <typename E>
int expect_error(const std::function<void()>& load, const std::string& expected) {
  try {
    load();
  } catch (const E& e) {
    if (std::string(e.what()).find(expected) != std::string::npos) return 0;
    std::fprintf(stderr, "child: error '%s' lacks '%s'\n", e.what(), expected.c_str());
    return 1;
  }
  std::fprintf(stderr, "child: no error (expected '%s')\n", expected.c_str());
  return 1;
}

}  // namespace ps::test
