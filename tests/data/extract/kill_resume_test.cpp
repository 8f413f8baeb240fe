// The real CLI killed with SIGKILL at random moments, then rerun: the store must end identical to an
// uninterrupted run. And h5py (Debian's python3-h5py) reads an extracted store independently.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include "tests/common/process.h"
#include "data/extract/extract.h"
#include "data/store/reader.h"
#include "tests/data/extract/extract_fixture.h"

extern char** environ;

namespace ps::extract {
namespace {

using namespace ps::extract::testing;

std::vector<std::string> cli_args(const std::string& model, const std::string& corpus, const std::string& out) {
  return {probescope_path(), "extract", "--model", model, "--corpus", corpus, "--out", out, "--store-dtype",
          "float32", "--threads", "1", "--token-budget", "512", "--group-tokens", "150", "--token-layers", "1"};
}

pid_t spawn(const std::vector<std::string>& args, const std::string& log) { return ps::test::spawn(args, log, true); }
int wait_exit(pid_t pid) { return ps::test::wait_exit(pid); }

TEST(ExtractCli, SurvivesSigkillAtRandomMomentsAndResumes) {
  const std::string dir = temp_dir("kill");
  const auto model = tiny_model_dir();
  const auto corpus = write_corpus(dir, 150, /*with_bad=*/true);
  const std::string log = dir + "/stderr.log";
  ASSERT_EQ(wait_exit(spawn(cli_args(model, corpus, dir + "/whole.h5"), log)), 0) << read_log(log);
  const std::string expected = dump_store(dir + "/whole.h5");

  std::mt19937 rng(20261129);
  const std::string out = dir + "/killed.h5";
  int kills = 0;
  for (int attempt = 0; attempt < 12; ++attempt) {
    pid_t pid = spawn(cli_args(model, corpus, out), log);
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 1500)(rng)));
    if (kill(pid, SIGKILL) == 0) ++kills;
    const int rc = wait_exit(pid);
    if (rc == 0) break;  // finished before the kill landed
    EXPECT_EQ(rc, 128 + SIGKILL);
  }
  EXPECT_GT(kills, 0);
  ASSERT_EQ(wait_exit(spawn(cli_args(model, corpus, out), log)), 0);
  EXPECT_TRUE(store::StoreReader(out).complete());
  EXPECT_EQ(dump_store(out), expected);
}

TEST(ExtractCli, HelpAndBadFlags) {
  const std::string dir = temp_dir("flags");
  EXPECT_EQ(wait_exit(spawn({probescope_path(), "extract", "--help"}, dir + "/log")), 0);
  EXPECT_EQ(wait_exit(spawn({probescope_path(), "extract", "--model", dir, "--corpus", dir + "/x.jsonl", "--out",
                             dir + "/o.h5"},
                            dir + "/log")),
            2);
  EXPECT_FALSE(std::filesystem::exists(dir + "/o.h5"));
}

TEST(ExtractH5py, PlainH5pyReadsShapesOffsetsAndPooledMeans) {
  if (std::system("/usr/bin/python3 -c 'import h5py, numpy' 2>/dev/null") != 0)
    GTEST_SKIP() << "/usr/bin/python3 cannot import h5py/numpy (apt install python3-h5py)";
  const std::string dir = temp_dir("h5py");
  const std::string corpus = write_corpus(dir, 9);
  auto o = tiny_options(tiny_model_dir(), corpus, dir + "/s.h5");
  o.token_layers = "all";
  o.attention_layers = "1";
  extract(o);
  // The shipped byte-level BPE model in offsets mode: merged "():" subwords are shared by two words, so the
  // word_pool sets, not the contiguous subword_spans, are what re-pools to the stored vectors.
  auto real = tiny_options(PS_SOURCE_DIR "/data/models/codegpt-py-small", corpus, dir + "/offsets.h5");
  real.token_layers = "all";
  real.align = "offsets";
  extract(real);
  for (const auto& out : {o.out, real.out}) {
    const std::string cmd = "/usr/bin/python3 " PS_SOURCE_DIR "/tests/data/extract/h5py_check.py " + out + " > " +
                            dir + "/py.log 2>&1";
    const int rc = std::system(cmd.c_str());
    EXPECT_EQ(rc, 0) << out << ": " << read_log(dir + "/py.log");
  }
}

}  // namespace
}  // namespace ps::extract
