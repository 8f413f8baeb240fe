#pragma once
// Shared by the libFuzzer targets: invariant checks and a per-process scratch file for the parsers
// that only take a path (JSONL corpus, HDF5 store, probe files).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "models/util/error.h"

namespace ps::fuzz {

inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
    std::abort();  // libFuzzer records the input as a crash
  }
}

// The error contract: one line, naming the source, of bounded length.
inline void check_error(const ps::Error& e, const std::string& source) {
  const std::string msg = e.what();
  if (msg.find('\n') != std::string::npos || msg.size() > 4000 || msg.rfind(source, 0) != 0) {
    std::fprintf(stderr, "bad error message (%zu bytes): %s\n", msg.size(), msg.c_str());
    std::abort();
  }
}

// A file private to this process (tmpfs when there is one), rewritten for every input.
inline const std::string& scratch_path(const char* suffix) {
  static const std::string p = [&] {
    const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
    return std::string(dir) + "/ps-fuzz-" + std::to_string(getpid()) + suffix;
  }();
  static const struct Remover {
    ~Remover() { std::remove(p.c_str()); }
  } remover;
  return p;
}

inline void write_scratch(const std::string& path, const uint8_t* data, size_t size) {
  FILE* f = std::fopen(path.c_str(), "wb");
  check(f != nullptr, "cannot create the scratch file");
  if (size) check(std::fwrite(data, 1, size, f) == size, "short write to the scratch file");
  check(std::fclose(f) == 0, "cannot close the scratch file");
}

}  // namespace ps::fuzz
