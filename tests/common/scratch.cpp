#include "tests/common/scratch.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace ps::test {
namespace {

std::mutex g_mutex;
std::vector<std::filesystem::path> g_dirs;

std::string sanitize(std::string s) {
  for (char& c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) c = '_';
  return s;
}

class Cleaner : public ::testing::EmptyTestEventListener {
  void OnTestProgramEnd(const ::testing::UnitTest& unit) override {
    std::lock_guard<std::mutex> lock(g_mutex);
    for (const auto& d : g_dirs) {
      if (unit.Passed()) {
        std::error_code ec;
        std::filesystem::remove_all(d, ec);
      } else {
        std::fprintf(stderr, "scratch: kept %s\n", d.c_str());
      }
    }
    g_dirs.clear();
  }
};

bool install_cleaner() {
  ::testing::UnitTest::GetInstance()->listeners().Append(new Cleaner);  // gtest owns it
  return true;
}
// In this translation unit so that any binary calling scratch_dir() also installs the cleaner.
const bool g_installed = install_cleaner();

}  // namespace

std::filesystem::path scratch_dir(const std::string& tag) {
  (void)g_installed;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "suite";
  if (!tag.empty()) name += "_" + tag;
  if (name.size() > 120) name.resize(120);  // NAME_MAX is 255; parameterised test names get long
  std::string templ = (std::filesystem::temp_directory_path() /
                       ("ps_" + sanitize(name) + "_" + std::to_string(::getpid()) + "_XXXXXX"))
                          .string();
  if (!::mkdtemp(templ.data())) throw std::runtime_error("scratch_dir: mkdtemp failed for " + templ);
  std::lock_guard<std::mutex> lock(g_mutex);
  g_dirs.emplace_back(templ);
  return templ;
}

}  // namespace ps::test
