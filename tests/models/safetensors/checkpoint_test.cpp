// Sharded checkpoints: index + shards as one name space, and each way an index can be wrong.
#include <gtest/gtest.h>

#include "models/safetensors/safetensors.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "tests/models/safetensors/st_test_util.h"

using namespace ps::st;

namespace {
std::string error_of(const std::string& dir) {
  try {
    Checkpoint ck(dir);
  } catch (const ps::InputError& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    return e.what();
  }
  return "no error";
}
void index(const std::string& dir, const std::string& weight_map) {
  ps::write_file_atomic(dir + "/model.safetensors.index.json",
                        R"({"metadata":{"total_size":12},"weight_map":)" + weight_map + "}");
}
const std::string kS1 = "model-00001-of-00002.safetensors", kS2 = "model-00002-of-00002.safetensors";
}  // namespace

TEST(Checkpoint, TwoShardsWithIndex) {
  const std::string dir = ps::st::testing::scratch("shards");
  write(dir + "/" + kS1, {{"a", DType::F32, {1}, std::string(4, '\1')}, {"c", DType::U8, {0}, ""}});
  write(dir + "/" + kS2, {{"b", DType::I32, {2}, std::string(8, '\2')}});
  index(dir, R"({"b":")" + kS2 + R"(","a":")" + kS1 + R"(","c":")" + kS1 + R"("})");
  EXPECT_EQ(checkpoint_files(dir), (std::vector<std::string>{dir + "/" + kS1, dir + "/" + kS2}));
  Checkpoint ck(dir);
  EXPECT_EQ(ck.dir(), dir);
  EXPECT_EQ(ck.shards().size(), 2u);
  EXPECT_EQ(ck.names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(ck.at("b").dtype, DType::I32);
  EXPECT_EQ(ck.at("b").data[0], 2);
  EXPECT_EQ(ck.at("a").data[0], 1);
  EXPECT_EQ(ck.find("zz"), nullptr);
  try {
    ck.at("zz");
    FAIL();
  } catch (const ps::InputError& e) {
    EXPECT_EQ(std::string(e.what()), dir + ": tensor 'zz': missing from the checkpoint");
  }
  // A single model.safetensors wins over an index.
  write(dir + "/model.safetensors", {{"only", DType::U8, {1}, "x"}});
  EXPECT_EQ(Checkpoint(dir).names(), std::vector<std::string>{"only"});
  std::filesystem::remove_all(dir);
}

TEST(Checkpoint, BadIndexesAndShards) {
  const std::string dir = ps::st::testing::scratch("badidx");
  EXPECT_NE(error_of(dir).find(dir + ": no model.safetensors or model.safetensors.index.json"), std::string::npos);
  write(dir + "/" + kS1, {{"a", DType::F32, {1}, std::string(4, '\0')}});
  write(dir + "/" + kS2, {{"a", DType::F32, {1}, std::string(4, '\0')}});
  const std::string idx = dir + "/model.safetensors.index.json";
  index(dir, R"({"a":")" + kS1 + R"(","b":")" + kS2 + R"("})");
  EXPECT_NE(error_of(dir).find(dir + "/" + kS2 + ": tensor 'a': also in " + dir + "/" + kS1), std::string::npos);
  write(dir + "/" + kS2, {{"b", DType::F32, {1}, std::string(4, '\0')}});
  index(dir, R"({"a":")" + kS2 + R"(","b":")" + kS2 + R"("})");  // stale: a is really in shard 1
  EXPECT_NE(error_of(dir).find(idx + ": field 'weight_map.a': tensor not found in " + dir + "/" + kS2), std::string::npos);
  index(dir, R"({"a":"../x.safetensors"})");
  EXPECT_NE(error_of(dir).find("is not a plain file name"), std::string::npos);
  index(dir, R"({"a":"/etc/passwd"})");
  EXPECT_NE(error_of(dir).find("is not a plain file name"), std::string::npos);
  index(dir, R"({"a":3})");
  EXPECT_NE(error_of(dir).find("field 'weight_map.a': not a string"), std::string::npos);
  index(dir, "{}");
  EXPECT_NE(error_of(dir).find("field 'weight_map': empty"), std::string::npos);
  index(dir, R"({"a":"missing.safetensors"})");
  EXPECT_NE(error_of(dir).find(dir + "/missing.safetensors: cannot open"), std::string::npos);
  ps::write_file_atomic(idx, R"({"weight_map": [})");
  EXPECT_NE(error_of(dir).find(idx + ": invalid JSON"), std::string::npos);
  ps::write_file_atomic(idx, R"({"metadata":{}})");
  EXPECT_NE(error_of(dir).find(idx + ": field 'weight_map': missing"), std::string::npos);
  std::filesystem::remove_all(dir);
}
