// The examples run as a user runs them: each executable on the fixtures the suites already make (the tiny
// GPT-2 model directory, a planted store), checked on what it prints.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>

#include "tests/common/scratch.h"
#include "tests/data/extract/extract_fixture.h"
#include "tests/probes/store_planted.h"

namespace {

struct Result {
  int status = -1;
  std::string out;
};

// Runs a command with a shell, stdout captured (stderr left to the test log).
Result run(const std::string& cmd) {
  Result r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) r.out.append(buf.data(), n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

TEST(Examples, HiddenStatesPrintsOneNormPerLayer) {
  const std::string model = ps::extract::testing::tiny_model_dir();
  const Result r = run(quoted(PS_EXAMPLE_HIDDEN_STATES) + " " + quoted(model) + " 'def f(x):\n    return x\n'");
  ASSERT_EQ(r.status, 0) << r.out;
  // The tiny model has 2 layers: hidden states 0 (embeddings), 1 and 2.
  for (const char* layer : {"layer 0: mean norm ", "layer 1: mean norm ", "layer 2: mean norm "})
    EXPECT_NE(r.out.find(layer), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("layer 3:"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("nan"), std::string::npos) << r.out;
}

TEST(Examples, FitAstProbeRecoversThePlantedTrees) {
  ps::probes::planted::PlantedStoreOptions o;
  o.n_snippets = 300;
  const std::string store = (ps::test::scratch_dir("example_store") / "planted.h5").string();
  ps::probes::planted::write_planted_store(store, o);
  // Layer 1 holds (d, c, u) planted in a subspace: a rank-32 probe recovers most constituents.
  const Result r = run(quoted(PS_EXAMPLE_FIT_AST_PROBE) + " " + quoted(store) + " 1 32");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto at = r.out.find("F1 ");
  ASSERT_NE(at, std::string::npos) << r.out;
  EXPECT_GT(std::stod(r.out.substr(at + 3)), 0.8) << r.out;
}

TEST(Examples, BadInputIsOneLineAndExitCodeOne) {
  const std::string missing = (ps::test::scratch_dir("example_missing") / "none.h5").string();
  EXPECT_EQ(run(quoted(PS_EXAMPLE_FIT_AST_PROBE) + " " + quoted(missing) + " 2>/dev/null").status, 1);
  EXPECT_EQ(run(quoted(PS_EXAMPLE_HIDDEN_STATES) + " 2>/dev/null").status, 2);  // usage
}

}  // namespace
