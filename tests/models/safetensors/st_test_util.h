#pragma once
// Helpers shared by the safetensors tests: a per-process scratch directory and hand-assembled files.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include "tests/common/scratch.h"

namespace ps::st::testing {

// A fresh directory unique to this process and test (removed when the test passes).
inline std::string scratch(const std::string& name) { return ps::test::scratch_dir(name).string(); }

// A file assembled by hand, independent of our writer: 8-byte LE length, header bytes as given, buffer.
inline std::string raw_file(const std::string& header, const std::string& buffer) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((uint64_t(header.size()) >> (8 * i)) & 0xff);
  return out + header + buffer;
}

}  // namespace ps::st::testing
