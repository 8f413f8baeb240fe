#pragma once
// Typed errors shared by every library. The faces (CLI, GUI) catch ps::Error, print what() as one line
// and exit with exit_code(): 2 for bad usage or bad input files, 1 for runtime failures.
#include <stdexcept>
#include <string>

namespace ps {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
  virtual int exit_code() const { return 1; }
};

// The input (a file, a flag, a config) is wrong; message names the file and the field/offset.
class InputError : public Error {
 public:
  explicit InputError(const std::string& msg) : Error(msg) {}
  int exit_code() const override { return 2; }
};

// Something failed while running (I/O, out of memory, numerics).
class RuntimeError : public Error {
 public:
  explicit RuntimeError(const std::string& msg) : Error(msg) {}
};

// "path: problem" — the one-line form every error uses.
inline std::string where(const std::string& file, const std::string& problem) {
  return file.empty() ? problem : file + ": " + problem;
}

}  // namespace ps
