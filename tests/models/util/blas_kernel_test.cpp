// The faces re-exec once with a better OpenBLAS kernel only where OpenBLAS fell back to Prescott, and never
// override the user's OPENBLAS_CORETYPE or PS_BLAS_REEXEC=0. Checked on the real probescope executable with
// OPENBLAS_VERBOSE=2, which makes OpenBLAS print "Core: NAME" each time it loads.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "models/util/blas_kernel.h"
#include "tests/common/process.h"
#include "tests/common/scratch.h"

namespace {

const std::string kProbescope = std::string(PS_BINARY_DIR) + "/app/cli/probescope";

// The "Core: X" lines probescope --version prints on stderr with the given extra environment.
std::vector<std::string> cores(const std::vector<std::pair<std::string, std::string>>& env) {
  const std::string log = (ps::test::scratch_dir("blas") / "stderr.log").string();
  std::vector<std::pair<std::string, const char*>> saved;
  for (const auto& name : {"OPENBLAS_CORETYPE", "PS_BLAS_REEXEC", "OPENBLAS_VERBOSE"}) {
    saved.emplace_back(name, std::getenv(name));
    unsetenv(name);
  }
  setenv("OPENBLAS_VERBOSE", "2", 1);
  for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
  const int rc = ps::test::wait_exit(ps::test::spawn({kProbescope, "--version"}, log));
  for (const auto& [k, v] : saved) v ? setenv(k.c_str(), v, 1) : unsetenv(k.c_str());
  EXPECT_EQ(rc, 0);
  std::ifstream in(log);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (line.rfind("Core: ", 0) == 0) out.push_back(line.substr(6));
  return out;
}

TEST(BlasKernel, ReexecsOnlyFromAPrescottFallback) {
  if (!std::filesystem::exists(kProbescope))
    GTEST_SKIP() << kProbescope << " is not built in this build tree (the sanitizer build has only the suites)";
  const auto plain = cores({{"PS_BLAS_REEXEC", "0"}});
  if (plain.empty()) GTEST_SKIP() << "the BLAS in use is not a dynamic-arch OpenBLAS (no Core: line)";
  ASSERT_EQ(plain.size(), 1u);
  const auto chosen = cores({});
  const std::string better = ps::better_blas_kernel();
  if (plain[0] == "Prescott" && !better.empty()) {
    ASSERT_EQ(chosen.size(), 2u) << "expected one re-exec";
    EXPECT_EQ(chosen[0], "Prescott");
    EXPECT_EQ(chosen[1], better);
  } else {
    EXPECT_EQ(chosen, plain) << "a kernel OpenBLAS knows must be left alone";
  }
}

TEST(BlasKernel, TheUsersCoretypeWins) {
  if (!std::filesystem::exists(kProbescope))
    GTEST_SKIP() << kProbescope << " is not built in this build tree (the sanitizer build has only the suites)";
  const auto chosen = cores({{"OPENBLAS_CORETYPE", "Haswell"}});
  if (chosen.empty()) GTEST_SKIP() << "the BLAS in use is not a dynamic-arch OpenBLAS";
  ASSERT_EQ(chosen.size(), 1u);
  EXPECT_EQ(chosen[0], "Haswell");
}

}  // namespace
