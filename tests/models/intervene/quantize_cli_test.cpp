// `probescope intervene --quantize`: FlexRound from a real corpus through the CLI (stopped after one block,
// resumed by the same command), and bad input as one line naming the option with exit code 2.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "models/transformer/transformer.h"
#include "models/util/files.h"
#include "tests/common/process.h"
#include "tests/data/extract/extract_fixture.h"

namespace {

namespace fs = std::filesystem;
namespace fx = ps::extract::testing;

int run(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> argv{fx::probescope_path(), "intervene"};
  argv.insert(argv.end(), args.begin(), args.end());
  return ps::test::wait_exit(ps::test::spawn(argv, log));
}

TEST(QuantizeCli, FlexRoundStopsAfterABlockAndTheSameCommandResumes) {
  if (!fs::exists(fx::probescope_path())) GTEST_SKIP() << fx::probescope_path() << " is not built";
  const std::string dir = fx::temp_dir("quant_cli"), model = fx::tiny_model_dir();
  const std::string corpus = fx::write_corpus(dir, 60), out = dir + "/q", log = dir + "/log";
  const std::vector<std::string> args{model, "--out", out, "--quantize", "flexround:bits=3,calib=4,iters=6,seqlen=32",
                                      "--calib-corpus", corpus, "--threads", "1"};
  auto stopped = args;
  stopped.insert(stopped.end(), {"--stop-after-blocks", "1"});
  EXPECT_EQ(run(stopped, log), 1) << ps::read_file(log);
  EXPECT_NE(ps::read_file(log).find("block 1/2"), std::string::npos) << ps::read_file(log);
  EXPECT_NE(ps::read_file(log).find("rerun the same command"), std::string::npos) << ps::read_file(log);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(run(args, log), 0) << ps::read_file(log);
  EXPECT_NE(ps::read_file(log).find("resuming after block 1 of 2"), std::string::npos) << ps::read_file(log);
  const auto rec = nlohmann::json::parse(ps::read_file(out + "/probescope_intervention.json"));
  const auto& fr = rec["interventions"][0]["flexround"];
  EXPECT_EQ(fr["calibration"]["split"], "train");
  EXPECT_EQ(fr["calibration_sequences"], 4);
  EXPECT_EQ(fr["seqlen"], 32);
  EXPECT_TRUE(fs::exists(out + "/quantization.safetensors"));
  EXPECT_TRUE(fs::exists(out + "/tokenizer.json"));
  EXPECT_EQ(ps::models::Transformer::load(out)->arch().n_layers, 2);
}

TEST(QuantizeCli, BadInputIsOneLineNamingTheOptionAndExitTwo) {
  if (!fs::exists(fx::probescope_path())) GTEST_SKIP() << fx::probescope_path() << " is not built";
  const std::string dir = fx::temp_dir("quant_cli_bad"), model = fx::tiny_model_dir();
  const std::string corpus = fx::write_corpus(dir, 30), log = dir + "/log";
  struct Case {
    std::vector<std::string> extra;
    std::string names;
  };
  const std::string flex = "flexround:bits=4,calib=2,iters=2,seqlen=16";
  const std::vector<Case> cases{
      {{"--quantize", "rtn:bits=0"}, "--quantize"},
      {{"--quantize", "rtn:bits=9"}, "--quantize"},
      {{"--quantize", "rtn:bits=4,group=128"}, "--quantize"},
      {{"--quantize", "flexround:bits=4,calib=0", "--calib-corpus", corpus}, "--quantize"},
      {{"--quantize", flex}, "--calib-corpus"},
      {{"--quantize", "rtn:bits=4", "--calib-corpus", corpus}, "--calib-corpus"},
      {{"--quantize", flex, "--calib-corpus", dir + "/none.jsonl"}, "--calib-corpus"},
      {{"--quantize", flex, "--calib-corpus", corpus, "--calib-split", "valid"}, "--calib-corpus"},
      {{"--quantize", "flexround:bits=4,calib=100000,seqlen=16", "--calib-corpus", corpus}, "--calib-corpus"},
      {{"--quantize", "flexround:bits=4,seqlen=4096", "--calib-corpus", corpus}, "--quantize seqlen"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args{model, "--out", dir + "/out"};
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    EXPECT_EQ(run(args, log), 2) << c.extra[1] << ": " << ps::read_file(log);
    const std::string text = ps::read_file(log);
    EXPECT_NE(text.find(c.names), std::string::npos) << text;
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
    EXPECT_FALSE(fs::exists(dir + "/out"));
  }
}

}  // namespace
