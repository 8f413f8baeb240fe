// corpus::load and corpus::find: the one way to hold a JSONL corpus in memory or fetch one record.
#include <gtest/gtest.h>

#include <fstream>

#include "data/corpus/load.h"
#include "models/util/error.h"
#include "tests/common/scratch.h"

namespace ps::corpus {
namespace {

std::string write(const std::string& name, const std::string& text) {
  const std::string path = (ps::test::scratch_dir(name) / (name + ".jsonl")).string();
  std::ofstream(path) << text;
  return path;
}

TEST(CorpusLoad, KeepsGoodRecordsAndCountsSkips) {
  const std::string path = write("mixed", R"({"id":"a","language":"python","code":"x = 1\n","split":"train"}
not json
{"id":"b","language":"python","original_string":"y = 2\n"}
)");
  int reported = 0;
  LoadOptions o;
  o.on_problem = [&](const Problem&) { ++reported; };
  const Loaded l = load(path, o);
  ASSERT_EQ(l.snippets.size(), 2u);
  EXPECT_EQ(l.snippets[0].id, "a");
  EXPECT_EQ(l.snippets[0].split, "train");
  EXPECT_EQ(l.snippets[1].code, "y = 2\n");
  EXPECT_EQ(l.summary.skipped_total(), 1);
  EXPECT_EQ(reported, 1);
}

TEST(CorpusLoad, EveryRecordSkippedSaysWhy) {
  const std::string path = write("bad", "not json\n{\"id\":\"x\"}\n");
  try {
    load(path);
    FAIL();
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path + ": no usable snippets (skipped 2"), std::string::npos) << what;
    EXPECT_NE(what.find("bad_json"), std::string::npos) << what;
  }
  LoadOptions lenient;
  lenient.require_snippets = false;
  EXPECT_TRUE(load(path, lenient).snippets.empty());
  EXPECT_THROW(load(path + ".missing"), InputError);
}

TEST(CorpusFind, OneRecordById) {
  const std::string path = write("find", R"({"id":"a","language":"python","code":"x = 1\n"}
{"id":"b/1","language":"go","original_string":"package b\n","func_name":"f"}
)");
  EXPECT_EQ(find(path, "a").code, "x = 1\n");
  const Snippet b = find(path, "b/1");  // '/' may be escaped in JSON: found without the text filter
  EXPECT_EQ(b.code, "package b\n");
  EXPECT_EQ(b.language, "go");
  EXPECT_EQ(b.func_name, "f");
  EXPECT_THROW(find(path, "c"), InputError);
  EXPECT_THROW(find(path + ".missing", "a"), InputError);
}

}  // namespace
}  // namespace ps::corpus
