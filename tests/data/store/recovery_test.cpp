// Salvage decisions on planted damage: silently zeroed committed chunks (caught by the checksums),
// nothing verifiable (restart with a warning), stale journals, stores without journal, finished stores.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "data/store/journal.h"
#include "models/util/error.h"
#include "tests/data/store/kill_hook.h"
#include "tests/data/store/store_fixture.h"

namespace ps::store {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kN = 42, kBase = 30, kBatch = 6;

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

// First row and file extent of the chunk of `dataset` that holds `row`.
struct Chunk {
  int64_t first_row = 0;
  haddr_t addr = 0;
  hsize_t size = 0;
};
Chunk chunk_of(const std::string& file, const std::string& dataset, int64_t row) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t ds = H5Dopen2(f, dataset.c_str(), H5P_DEFAULT);
  hid_t dcpl = H5Dget_create_plist(ds);
  hsize_t dims[2] = {0, 0};
  H5Pget_chunk(dcpl, 2, dims);
  Chunk c;
  c.first_row = row / int64_t(dims[0]) * int64_t(dims[0]);
  hsize_t offset[2] = {hsize_t(c.first_row), 0};
  unsigned mask = 0;
  EXPECT_GE(H5Dget_chunk_info_by_coord(ds, offset, &mask, &c.addr, &c.size), 0);
  H5Pclose(dcpl);
  H5Dclose(ds);
  H5Fclose(f);
  return c;
}

void overwrite(const std::string& file, haddr_t addr, hsize_t size, char byte) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(std::streamoff(addr));
  std::string junk(size, byte);
  f.write(junk.data(), std::streamsize(junk.size()));
}

void mark_flushing(const std::string& store) {
  Journal j;
  ASSERT_TRUE(load_journal(store, j));
  j.flushing = true;
  save_journal(store, j, false);
}

// Zeroing the chunk that holds the newest committed activation rows reads back silently (fill-like
// zeros, no HDF5 error); salvage must reject every commit that covers it and keep the newest that doesn't.
TEST(StoreRecovery, SalvageRejectsSilentlyZeroedCommittedRows) {
  WriterOptions o;
  o.chunk_bytes = 256;  // 12 rows of tokens/layer_0 per chunk: commits end in different chunks
  std::string dir = testing::temp_dir("recover_zeroed");
  std::string ref = dir + "/ref.h5", path = dir + "/s.h5", plain = dir + "/plain.h5";
  testing::write_store(ref, kN, kBatch, o);
  {
    StoreWriter w(path, testing::base_manifest(), o);
    testing::write_range(w, 0, kBase, kBatch);
  }
  const std::string act = "/acts/tokens/layer_0";
  Journal j;
  ASSERT_TRUE(load_journal(path, j));
  int64_t rows = j.commits.back().datasets.at(act).rows;
  Chunk c = chunk_of(path, act, rows - 1);
  int64_t expect = 0;
  for (const CommitRecord& r : j.commits)
    if (r.samples > 0 && r.datasets.at(act).rows <= c.first_row) expect = std::max(expect, r.samples);
  ASSERT_GT(expect, 0);
  ASSERT_LT(expect, kBase);
  overwrite(path, c.addr, c.size, 0);

  fs::copy_file(path, plain);  // what a reader without the journal would see: wrong values, no error
  {
    StoreReader damaged(plain), good(ref);
    EXPECT_NE(damaged.acts_rows("tokens/layer_0", c.first_row, rows).data,
              good.acts_rows("tokens/layer_0", c.first_row, rows).data);
  }
  mark_flushing(path);
  ::testing::internal::CaptureStderr();
  StoreWriter w(path, testing::base_manifest(), o);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(w.committed_samples(), expect);
  EXPECT_EQ(err, w.recovery() + "\n");
  EXPECT_NE(err.find("warning"), std::string::npos);
  EXPECT_NE(err.find(std::to_string(expect) + " snippets (30 were durably committed)"), std::string::npos) << err;
  testing::write_range(w, w.committed_samples(), kN - w.committed_samples(), kBatch);
  w.finish();
  EXPECT_TRUE(testing::dump(path) == testing::dump(ref));
  EXPECT_EQ(testing::extents(path), testing::extents(ref));
}

TEST(StoreRecovery, NothingVerifiesRestartsFromZeroWithAWarning) {
  std::string dir = testing::temp_dir("recover_none");
  std::string ref = dir + "/ref.h5", path = dir + "/s.h5";
  testing::write_store(ref, kN, kBatch);
  {
    StoreWriter w(path, testing::base_manifest());
    testing::write_range(w, 0, kBase, kBatch);
  }
  Chunk c = chunk_of(path, "/samples/token_offsets", 0);  // one chunk: every commit reads it
  overwrite(path, c.addr, c.size, char(0x7f));
  mark_flushing(path);
  ::testing::internal::CaptureStderr();
  {
    StoreWriter w(path, testing::base_manifest());
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(w.committed_samples(), 0);
    EXPECT_EQ(err, path + ": warning: a run was killed while committing and no journalled commit verifies; "
                          "restarting from 0 (30 committed snippets will be redone)\n");
    testing::write_range(w, 0, kN, kBatch);
    w.finish();
  }
  EXPECT_TRUE(testing::dump(path) == testing::dump(ref));
}

TEST(StoreRecovery, AJournalOfAnotherFileIsIgnored) {
  std::string dir = testing::temp_dir("recover_stale");
  std::string a = dir + "/a.h5", b = dir + "/b.h5";
  for (const auto& p : {a, b}) {
    StoreWriter w(p, testing::base_manifest());
    testing::write_range(w, 0, kBase, kBatch);
  }
  fs::copy_file(b + ".commit", a + ".commit", fs::copy_options::overwrite_existing);
  mark_flushing(a);  // b's journal, claiming an interrupted flush
  EXPECT_NO_THROW(StoreReader r(a));
  ::testing::internal::CaptureStderr();
  StoreWriter w(a, testing::base_manifest());
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(w.committed_samples(), kBase);
  EXPECT_EQ(w.recovery(), "");
  EXPECT_FALSE(testing::journal_says_flushing(a));
}

// A store from an older build (no journal): resuming reads its committed rows once to seed the running
// checksums, so a kill inside the next commit is recovered without losing the adopted commits.
TEST(StoreRecovery, AStoreWithoutJournalIsAdoptedAndThenProtected) {
  std::string dir = testing::temp_dir("recover_adopt");
  std::string ref = dir + "/ref.h5", path = dir + "/s.h5";
  testing::write_store(ref, kN, kBatch);
  {
    StoreWriter w(path, testing::base_manifest());
    testing::write_range(w, 0, kBase, kBatch);
  }
  fs::remove(path + ".commit");
  auto child = [&](int64_t kill_at) {
    return [&, kill_at] {
      StoreWriter w(path, testing::base_manifest());
      w.append(testing::make_batch(kBase, kBatch));
      testing::arm_pwrite_hook(kill_at);
      w.commit();
      return testing::disarm_pwrite_hook();
    };
  };
  std::string legacy = dir + "/legacy.h5";
  testing::copy_store(path, legacy);
  int64_t writes = 0;
  ASSERT_EQ(testing::in_child(child(0), &writes), 0);
  testing::copy_store(legacy, path);
  ASSERT_TRUE(testing::killed(testing::in_child(child(writes - 1))));
  ASSERT_TRUE(testing::journal_says_flushing(path));
  ::testing::internal::CaptureStderr();
  {
    StoreWriter w(path, testing::base_manifest());
    ::testing::internal::GetCapturedStderr();
    EXPECT_GE(w.committed_samples(), kBase);
    EXPECT_NE(w.recovery(), "");
    testing::write_range(w, w.committed_samples(), kN - w.committed_samples(), kBatch);
    w.finish();
  }
  EXPECT_TRUE(testing::dump(path) == testing::dump(ref));
}

TEST(StoreRecovery, AFinishedStoreReopenedIsNotWrittenUntilAppendedTo) {
  std::string dir = testing::temp_dir("recover_finished");
  std::string ref = dir + "/ref.h5", path = dir + "/s.h5";
  testing::write_store(ref, kN + kBatch, kBatch);
  testing::write_store(path, kN, kBatch);
  EXPECT_FALSE(fs::exists(path + ".commit"));
  std::string before = slurp(path);
  {
    StoreWriter w(path, testing::base_manifest());
    EXPECT_TRUE(w.resumed());
    EXPECT_EQ(w.committed_samples(), kN);
    w.finish();
  }
  EXPECT_TRUE(slurp(path) == before) << "resuming a finished store rewrote it";
  EXPECT_FALSE(fs::exists(path + ".commit"));
  {
    StoreWriter w(path, testing::base_manifest());
    w.append(testing::make_batch(kN, kBatch));  // now it becomes writable and journalled
    EXPECT_TRUE(fs::exists(path + ".commit"));
    w.commit();
  }
  {
    StoreReader r(path);
    EXPECT_FALSE(r.complete());
    EXPECT_EQ(r.num_samples(), kN + kBatch);
  }
  testing::write_store(path, kN + kBatch, kBatch);
  EXPECT_TRUE(testing::dump(path) == testing::dump(ref));
}

}  // namespace
}  // namespace ps::store
