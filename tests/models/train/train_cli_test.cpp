// `probescope train` stopped by SIGTERM (what Slurm sends before preemption): it checkpoints, exits 1 with
// one "interrupted; rerun the same command to resume DIR" line, and the same command then finishes with
// the weights of an uninterrupted run.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <ATen/ATen.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/common/process.h"
#include "models/train/bpe_trainer.h"
#include "models/train/hf_checkpoint.h"
#include "models/train/run_dir.h"
#include "models/util/files.h"
#include "tests/models/train/train_fixtures.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;

std::string probescope() { return std::string(PS_BINARY_DIR) + "/app/cli/probescope"; }

pid_t spawn(const std::vector<std::string>& args, const std::string& log) { return ps::test::spawn(args, log, false); }
int wait_exit(pid_t pid) { return ps::test::wait_exit(pid); }

std::string text_of(const std::string& path) { return ps::file_exists(path) ? ps::read_file(path) : ""; }

// A corpus JSONL of this repository's code (train and valid splits) and a BPE tokenizer trained on it.
struct CliCorpus {
  std::string jsonl, tokenizer;
};
CliCorpus write_cli_corpus(const std::string& dir) {
  CliCorpus c{dir + "/corpus.jsonl", dir + "/tokenizer.json"};
  const auto train = pstest::source_documents({"models/tokenizer", "models/config"});
  const auto valid = pstest::source_documents({"models/util"});
  std::string text;
  for (const auto* docs : {&train, &valid})
    for (const auto& d : *docs)
      text += nlohmann::json{{"language", "text"}, {"code", d}, {"split", docs == &train ? "train" : "valid"}}.dump() + "\n";
  ps::write_file_atomic(c.jsonl, text);
  ps::train::BpeOptions o;
  o.vocab_size = 320;
  ps::write_file_atomic(c.tokenizer, ps::train::tokenizer_json(ps::train::train_bpe(train, o)));
  return c;
}

std::vector<std::string> train_args(const CliCorpus& c, const std::string& out) {
  return {probescope(), "train", "--corpus", c.jsonl, "--tokenizer", c.tokenizer, "--out", out, "--layers", "2",
          "--d-model", "64", "--heads", "2", "--ctx", "64", "--steps", "150", "--batch-tokens", "1024", "--warmup",
          "10", "--eval-every", "5", "--eval-tokens", "1024", "--threads", "1", "--bf16", "off", "--seed", "3"};
}

TEST(TrainCli, SigtermCheckpointsAndTheSameCommandResumes) {
  if (!fs::exists(probescope())) GTEST_SKIP() << probescope() << " is not built";
  const std::string dir = pstest::temp_dir("train_cli");
  const auto corpus = write_cli_corpus(dir);
  const std::string whole = dir + "/whole", stopped = dir + "/stopped", log = dir + "/stderr.log";
  ASSERT_EQ(wait_exit(spawn(train_args(corpus, whole), log)), 0) << text_of(log);

  // SIGTERM once the first periodic evaluation (step 5 of 150) is logged: well inside the training loop.
  const pid_t pid = spawn(train_args(corpus, stopped), log);
  while (text_of(log).find("step 5/150") == std::string::npos) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, WNOHANG), 0) << "exited before its first evaluation: " << text_of(log);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  ASSERT_EQ(wait_exit(pid), 1) << text_of(log);
  EXPECT_NE(text_of(log).find("probescope train: interrupted; rerun the same command to resume " + stopped + "\n"),
            std::string::npos)
      << text_of(log);
  const auto ckpts = ps::train::list_checkpoints(stopped);
  ASSERT_EQ(ckpts.size(), 1u);
  EXPECT_GE(ckpts[0], 5);
  EXPECT_LT(ckpts[0], 150);

  ASSERT_EQ(wait_exit(spawn(train_args(corpus, stopped), log)), 0) << text_of(log);
  EXPECT_NE(text_of(log).find("resuming from"), std::string::npos);
  const auto a = ps::train::read_safetensors(whole + "/step-000150/model.safetensors");
  const auto b = ps::train::read_safetensors(stopped + "/step-000150/model.safetensors");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [k, t] : a) EXPECT_TRUE(at::equal(t, b.at(k))) << k;
}

}  // namespace
