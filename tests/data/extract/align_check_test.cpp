// probescope align-check: the shipped byte-level BPE model scoring the same parsed functions tokenized
// naturally and by boundary (library and CLI).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "data/extract/align_check.h"
#include "models/util/error.h"
#include "tests/common/process.h"
#include "tests/data/extract/extract_fixture.h"

namespace ps::extract {
namespace {

using namespace ps::extract::testing;

const std::string kModel = PS_SOURCE_DIR "/data/models/codegpt-py-small";

TEST(AlignCheck, ScoresBothSegmentationsOfTheSameFunctions) {
  const std::string dir = temp_dir("align_check");
  AlignCheckOptions o;
  o.model_dir = kModel;
  o.corpus = write_corpus(dir, 8);
  o.splits = "";  // every split
  o.load.threads = 1;
  const auto r = align_check(o);
  EXPECT_EQ(r.functions, 8);
  ASSERT_TRUE(r.scored);
  EXPECT_GT(r.changed, 0);
  EXPECT_GT(r.natural.shared_pairs, 0);
  EXPECT_EQ(r.boundary.shared_pairs, 0);
  EXPECT_GT(r.boundary.subwords, r.natural.subwords);
  // Every subword after a function's first is a target, and so is the EOS appended to it.
  EXPECT_EQ(r.natural.targets, r.natural.subwords);
  EXPECT_EQ(r.boundary.targets, r.boundary.subwords);
  EXPECT_TRUE(std::isfinite(r.natural.ppl()) && r.natural.ppl() > 1);
  EXPECT_TRUE(std::isfinite(r.boundary.ppl()) && r.boundary.ppl() > 1);
  const std::string table = r.format("m", "c");
  EXPECT_NE(table.find("re-segmentation costs"), std::string::npos) << table;
  // limit counts scored functions.
  o.limit = 3;
  EXPECT_EQ(align_check(o).functions, 3);
  // No function of the asked split: one line naming the corpus.
  o.splits = "nosuch";
  try {
    align_check(o);
    FAIL() << "an empty selection was scored";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(o.corpus), std::string::npos) << e.what();
  }
}

TEST(AlignCheck, CliRunsAndRejectsBadInputWithOneLine) {
  const std::string dir = temp_dir("align_check_cli");
  const std::string corpus = write_corpus(dir, 3);
  EXPECT_EQ(ps::test::wait_exit(ps::test::spawn({probescope_path(), "align-check", "--model", kModel, "--corpus", corpus,
                                                 "--splits", "", "--threads", "1"},
                                                dir + "/ok.log")),
            0)
      << read_log(dir + "/ok.log");
  EXPECT_EQ(ps::test::wait_exit(ps::test::spawn(
                {probescope_path(), "align-check", "--model", dir, "--corpus", corpus}, dir + "/bad.log")),
            2);
  const std::string log = read_log(dir + "/bad.log");
  EXPECT_NE(log.find(dir + ": no config.json"), std::string::npos) << log;
  EXPECT_EQ(log.find('\n'), log.size() - 1) << log;
}

}  // namespace
}  // namespace ps::extract
