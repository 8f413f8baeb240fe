// Checksums of finished stores: silent damage (a zeroed 64 KiB disk block) is a one-line error naming
// the file and dataset, from the reader, from verify() and from `probescope verify`; merge refuses a
// damaged shard; stores from before checksums were kept still open.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "data/store/integrity.h"
#include "data/store/merge.h"
#include "models/util/error.h"
#include "tests/common/scratch.h"
#include "tests/data/store/damage.h"
#include "tests/data/store/store_fixture.h"

namespace ps::store {
namespace {

namespace fs = std::filesystem;
constexpr const char* kAct = "tokens/layer_0";  // float32 d=5: 1 MiB chunks of 52,428 rows
constexpr const char* kActPath = "/acts/tokens/layer_0";

// A real finished store whose first activation chunk is full (~2.4 MB of layer_0 over 20,000 snippets).
std::string big_store(const fs::path& dir, int gzip = 0) {
  std::string p = (dir / (gzip ? "gz.h5" : "raw.h5")).string();
  WriterOptions o;
  o.gzip = gzip;
  testing::write_store(p, 20000, 2500, o);
  return p;
}

// The message of the CorruptStore that `f` throws ("" if it throws nothing, or something else).
template <class F>
std::string corrupt_message(F&& f) {
  try {
    f();
  } catch (const CorruptStore& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("other exception: ") + e.what();
  }
  return "";
}

TEST(StoreIntegrity, IntactStoreVerifiesAndKeepsDigestsReadableByHdf5) {
  fs::path dir = ps::test::scratch_dir();
  std::string p = (dir / "s.h5").string();
  testing::write_store(p, 300, 40);
  StoreReader r(p);
  EXPECT_TRUE(r.has_checksums());
  VerifyReport rep = r.verify();
  EXPECT_TRUE(rep.checksums);
  EXPECT_GE(rep.datasets, 20);  // ids, 5 offsets, 4 token/word columns, 3 acts, syntax, 2 tables' columns, vocabs
  EXPECT_EQ(r.load_act(kAct).rows, r.num_tokens());
  // Plain attributes: the digest of the activation covers exactly its committed rows.
  EXPECT_EQ(testing::get_i64(p, "/samples/token_offsets", 300), r.num_tokens());
  hid_t f = H5Fopen(p.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t ds = H5Dopen2(f, kActPath, H5P_DEFAULT);
  h5::Ctx c{p};
  std::optional<Digest> d = read_digest(c, ds, kActPath);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->rows, r.num_tokens());
  H5Dclose(ds);
  H5Fclose(f);
}

TEST(StoreIntegrity, ZeroedBlockInActivationsNamesTheDataset) {
  fs::path dir = ps::test::scratch_dir();
  std::string p = big_store(dir);
  testing::ChunkAt ch = testing::chunk_at(p, kActPath, 0);
  ASSERT_GE(ch.size, int64_t(1) << 19);
  testing::zero_bytes(p, ch.addr + ch.size / 2 - 32768, 65536);  // inside written rows

  StoreReader r(p);  // opening reads no activation data
  EXPECT_NO_THROW(r.tokens(3));  // other datasets are fine
  std::string msg = corrupt_message([&] { r.acts(kAct, 7); });
  EXPECT_EQ(msg.rfind(p + ": " + kActPath + ": checksum mismatch", 0), 0u) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
  // Once found, the damage is reported on every later read, never returned as data.
  EXPECT_THROW(r.acts(kAct, 7), CorruptStore);
  // Streaming load (what probes do) on a fresh reader: the same error, without a second pass.
  StoreReader r2(p);
  msg = corrupt_message([&] { r2.load_act(kAct); });
  EXPECT_NE(msg.find(kActPath), std::string::npos) << msg;
  StoreReader r3(p);
  msg = corrupt_message([&] { r3.verify(); });
  EXPECT_NE(msg.find(kActPath), std::string::npos) << msg;
}

TEST(StoreIntegrity, ZeroedBlockInGzipChunkNamesTheDataset) {
  fs::path dir = ps::test::scratch_dir();
  std::string p = big_store(dir, 1);
  testing::ChunkAt ch = testing::chunk_at(p, kActPath, 0);
  ASSERT_GT(ch.size, 4096);
  testing::zero_bytes(p, ch.addr + ch.size / 2 - 2048, 4096);  // deflate either fails or decodes garbage
  StoreReader r(p);
  std::string msg = corrupt_message([&] { r.acts(kAct, 0); });
  EXPECT_EQ(msg.rfind(p + ": " + kActPath + ": ", 0), 0u) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
}

TEST(StoreIntegrity, ZeroedBlockInTheMiddleOfTheFileIsFound) {
  fs::path dir = ps::test::scratch_dir();
  std::string p = big_store(dir);
  int64_t mid = int64_t(fs::file_size(p)) / 2 / 65536 * 65536;  // a 64 KiB-aligned block, like a bad sector run
  testing::zero_bytes(p, mid, 65536);
  std::string msg;
  try {
    StoreReader r(p);
    r.verify();
  } catch (const Error& e) {
    msg = e.what();
  }
  EXPECT_EQ(msg.rfind(p + ": /", 0), 0u) << "the damage must be found and named: '" << msg << "'";
  RecordProperty("found", msg);
  EXPECT_EQ(msg.find('\n'), std::string::npos);
}

TEST(StoreIntegrity, StoreWithoutChecksumsStillOpens) {
  fs::path dir = ps::test::scratch_dir();
  std::string p = (dir / "old.h5").string();
  testing::write_store(p, 60, 25);
  std::string before = testing::dump(p);
  testing::strip_checksums(p);  // what a store from an older build looks like
  StoreReader r(p);
  EXPECT_FALSE(r.has_checksums());
  EXPECT_FALSE(r.verify().checksums);
  EXPECT_EQ(testing::dump(p), before);
}

TEST(StoreIntegrity, AppendingToAFinishedStoreNeverChecksStaleDigests) {
  fs::path dir = ps::test::scratch_dir();
  std::string p = (dir / "s.h5").string();
  testing::write_store(p, 30, 10);
  {
    StoreWriter w(p, testing::base_manifest());  // resume the finished store, append, commit, no finish
    testing::write_range(w, 30, 12, 6);
  }
  {
    StoreReader r(p);  // unfinished: the digests of the first 30 snippets describe another state
    EXPECT_FALSE(r.complete());
    EXPECT_FALSE(r.has_checksums());
    EXPECT_EQ(r.num_samples(), 42);
    EXPECT_NO_THROW(r.verify());
  }
  {
    StoreWriter w(p, testing::base_manifest());
    testing::write_range(w, 42, 8, 8);
    w.finish();
  }
  StoreReader r(p);
  EXPECT_TRUE(r.has_checksums());
  EXPECT_TRUE(r.verify().checksums);
  testing::write_store((dir / "one.h5").string(), 50, 50);
  EXPECT_EQ(testing::dump(p), testing::dump((dir / "one.h5").string()));
}

TEST(StoreIntegrity, WriterWithoutJournalStillKeepsChecksums) {
  fs::path dir = ps::test::scratch_dir();
  std::string p = (dir / "s.h5").string();
  WriterOptions o;
  o.journal = false;
  testing::write_store(p, 25, 10, o);
  {
    StoreWriter w(p, testing::base_manifest(), o);  // resumed without journal: hashes rebuilt at finish
    testing::write_range(w, 25, 10, 5);
    w.finish();
  }
  StoreReader r(p);
  EXPECT_TRUE(r.has_checksums());
  EXPECT_TRUE(r.verify().checksums);
}

TEST(StoreIntegrity, MergeRefusesADamagedShard) {
  fs::path dir = ps::test::scratch_dir();
  std::string good = (dir / "a.h5").string();
  testing::write_store(good, 20, 10);
  std::string bad = big_store(dir);
  testing::ChunkAt ch = testing::chunk_at(bad, kActPath, 0);
  testing::zero_bytes(bad, ch.addr + 65536, 65536);
  std::string out = (dir / "merged.h5").string();
  std::string msg = corrupt_message([&] { merge_stores(out, {good, bad}); });
  EXPECT_EQ(msg.rfind(bad + ": " + kActPath, 0), 0u) << msg;
  EXPECT_FALSE(fs::exists(out));
}

// `probescope verify` when the CLI has been built next to this test binary (it is not a dependency:
// building it needs LibTorch).
TEST(StoreIntegrity, CliVerifyExitCodes) {
  fs::path cli = fs::path(PS_BINARY_DIR) / "app" / "cli" / "probescope";
  if (!fs::exists(cli)) GTEST_SKIP() << cli << " not built";
  fs::path dir = ps::test::scratch_dir();
  std::string good = (dir / "good.h5").string();
  testing::write_store(good, 50, 25);
  std::string bad = big_store(dir);
  testing::ChunkAt ch = testing::chunk_at(bad, kActPath, 0);
  testing::zero_bytes(bad, ch.addr + 65536, 65536);
  auto run = [&](const std::string& args, std::string& err) {
    std::string errf = (dir / "err.txt").string();
    int rc = std::system((cli.string() + " verify " + args + " >" + (dir / "out.txt").string() + " 2>" + errf).c_str());
    std::ifstream e(errf);
    err.assign(std::istreambuf_iterator<char>(e), {});
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  };
  std::string err;
  EXPECT_EQ(run(good, err), 0) << err;
  EXPECT_EQ(run(good + " " + bad, err), 1) << err;
  EXPECT_NE(err.find(bad + ": " + kActPath + ": checksum mismatch"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_EQ(run((dir / "missing.h5").string(), err), 2) << err;
}

}  // namespace
}  // namespace ps::store
