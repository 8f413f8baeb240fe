// Merging shard stores equals writing the whole corpus in one run.
#include <gtest/gtest.h>

#include "data/store/merge.h"
#include "models/util/error.h"
#include "tests/data/store/store_fixture.h"

namespace ps::store {
namespace {

Manifest shard_manifest(const std::string& shard) {
  Manifest m = testing::base_manifest();
  m[key::shard] = shard;
  return m;
}

TEST(StoreMerge, TwoShardsEqualASingleRun) {
  std::string dir = testing::temp_dir("merge");
  testing::write_store(dir + "/single.h5", 45, 8);
  {
    StoreWriter a(dir + "/a.h5", shard_manifest("0/2"));
    testing::write_range(a, 0, 17, 8);
    a.finish();
    StoreWriter b(dir + "/b.h5", shard_manifest("1/2"));
    testing::write_range(b, 17, 28, 5);
    b.finish();
  }
  MergeOptions o;
  o.rows_per_batch = 40;  // several copy batches per shard
  merge_stores(dir + "/merged.h5", {dir + "/a.h5", dir + "/b.h5"}, o);
  EXPECT_TRUE(testing::dump(dir + "/merged.h5") == testing::dump(dir + "/single.h5"));
  StoreReader r(dir + "/merged.h5");
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.manifest().count(key::shard), 0u);
  EXPECT_EQ(r.manifest().at("merged_shards"), "2");
  EXPECT_EQ(r.manifest().at(key::settings_hash), "settings-1");
  EXPECT_EQ(testing::extents(dir + "/merged.h5"), testing::extents(dir + "/single.h5"));

  EXPECT_THROW(merge_stores(dir + "/merged.h5", {dir + "/a.h5"}), InputError);  // exists, no overwrite
}

TEST(StoreMerge, RefusesMismatchedOrIncompleteShards) {
  std::string dir = testing::temp_dir("merge_bad");
  {
    StoreWriter a(dir + "/a.h5", shard_manifest("0/2"));
    testing::write_range(a, 0, 5, 5);
    a.finish();
    Manifest m = shard_manifest("1/2");
    m[key::model_hash] = "other";
    StoreWriter b(dir + "/b.h5", m);
    testing::write_range(b, 5, 5, 5);
    b.finish();
    StoreWriter c(dir + "/c.h5", shard_manifest("1/2"));
    testing::write_range(c, 5, 5, 5);  // committed but never finished
  }
  try {
    merge_stores(dir + "/m1.h5", {dir + "/a.h5", dir + "/b.h5"});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), dir + "/b.h5: manifest differs: field 'model_hash' is 'other' here but 'abc123' in " +
                                         dir + "/a.h5");
  }
  try {
    merge_stores(dir + "/m2.h5", {dir + "/a.h5", dir + "/c.h5"});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("c.h5: incomplete store"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ps::store
