#pragma once
// Temp-dir fixture and small helpers shared by the corpus tests.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/corpus/snippet.h"
#include "tests/common/scratch.h"

namespace ps::corpus::testing {

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ps::test::scratch_dir();  // removed when the test passes, kept for inspection when it fails
  }
  std::string path(const std::string& rel) const { return (dir_ / rel).string(); }
  std::string write(const std::string& rel, const std::string& content) const {
    auto p = dir_ / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
  std::filesystem::path dir_;
};

inline std::vector<std::string> ids(const std::vector<Snippet>& v) {
  std::vector<std::string> out;
  for (const auto& s : v) out.push_back(s.id);
  return out;
}

inline int64_t count(const Summary& s, SkipReason r) {
  auto it = s.skipped.find(r);
  return it == s.skipped.end() ? 0 : it->second;
}

}  // namespace ps::corpus::testing
