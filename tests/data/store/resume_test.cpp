// Interruption and resume (including real SIGKILLs of a writing child), manifest checks,
// corrupt and foreign files.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "models/util/error.h"
#include "tests/data/store/store_fixture.h"

namespace ps::store {
namespace {

constexpr int64_t kN = 120, kBatch = 6;

std::string reference(const std::string& dir) {
  testing::write_store(dir + "/ref.h5", kN, kBatch);
  return testing::dump(dir + "/ref.h5");
}

TEST(StoreResume, DestroyedWithoutCommitResumesToTheSameContent) {
  std::string dir = testing::temp_dir("resume_destroy");
  std::string ref = reference(dir), path = dir + "/s.h5";
  {
    StoreWriter w(path, testing::base_manifest());
    testing::write_range(w, 0, 30, kBatch);
    w.append(testing::make_batch(30, 9));  // never committed
  }
  {
    Manifest m = testing::base_manifest();
    m[key::created_at] = "2024-02-02T00:00:00Z";  // differs, and is not compared
    StoreWriter w(path, m);
    EXPECT_TRUE(w.resumed());
    EXPECT_EQ(w.recovery(), "");  // a clean close: the journal's fast path, no salvage
    EXPECT_EQ(w.committed_samples(), 30);
    EXPECT_EQ(w.manifest().at(key::created_at), "2024-01-01T00:00:00Z");
    testing::write_range(w, 30, kN - 30, kBatch);
    w.finish();
  }
  EXPECT_TRUE(testing::dump(path) == ref);
  EXPECT_EQ(testing::extents(path), testing::extents(dir + "/ref.h5"));
}

// The child writes the whole store, committing every batch; the parent SIGKILLs it at a random moment
// (mid-append, mid-commit, inside HDF5's flush, mid-salvage or between). Several kill/resume rounds, then
// a final resume must finish with content identical to an uninterrupted run. After each kill a reader
// either opens the last durable commit or, when the kill hit a flush, refuses with a one-line error.
TEST(StoreResume, SurvivesSigkillAtRandomMoments) {
  std::string dir = testing::temp_dir("resume_kill");
  std::string ref = reference(dir), path = dir + "/s.h5";
  static int run = 0;  // --gtest_repeat: a different (still reproducible) sequence of kill times each run
  std::mt19937 rng(uint32_t(42 + run++));
  int rounds = 0, killed_mid_run = 0, refused = 0;
  for (int round = 0; round < 12; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      char c = 'r';
      if (write(fds[1], &c, 1) != 1) _exit(3);  // before opening: kills can land inside a salvage too
      try {
        StoreWriter w(path, testing::base_manifest());
        // Slow enough that kills land at varied points: commit every batch.
        for (int64_t i = w.committed_samples(); i < kN; i += kBatch) {
          w.append(testing::make_batch(i, std::min(kBatch, kN - i)));
          w.commit();
        }
        w.finish();
        _exit(0);
      } catch (const std::exception& e) {
        fprintf(stderr, "child: %s\n", e.what());
        _exit(2);
      }
    }
    close(fds[1]);
    char c = 0;
    ASSERT_EQ(read(fds[0], &c, 1), 1) << "child failed to start";
    close(fds[0]);
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 20000)(rng)));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0)) << "child status " << status;
    ++rounds;
    if (WIFSIGNALED(status)) ++killed_mid_run;
    if (!std::filesystem::exists(path)) continue;  // killed before the first rename
    try {
      StoreReader r(path);
      if (r.complete()) break;
    } catch (const InputError& e) {
      ASSERT_NE(std::string(e.what()).find("killed while committing"), std::string::npos) << e.what();
      ++refused;
    }
  }
  EXPECT_GT(killed_mid_run, 0);
  testing::write_store(path, kN, kBatch);  // resume whatever is left
  EXPECT_TRUE(testing::dump(path) == ref) << "after " << rounds << " kill rounds";
  EXPECT_EQ(testing::extents(path), testing::extents(dir + "/ref.h5"));
  EXPECT_FALSE(std::filesystem::exists(path + ".commit")) << "a finished store keeps no journal";
  RecordProperty("refused_reads", refused);
}

TEST(StoreResume, RefusesADifferentManifest) {
  std::string path = testing::temp_dir("manifest") + "/out.h5";
  testing::write_store(path, 10, 5);
  try {
    StoreWriter w(path, testing::base_manifest("settings-2"));
    FAIL() << "resumed with different settings";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              path + ": manifest differs: field 'settings_hash' is 'settings-2' here but 'settings-1' in the file");
  }
  Manifest extra = testing::base_manifest();
  extra["shard"] = "0/2";
  try {
    StoreWriter w(path, extra);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": manifest differs: field 'shard' is '0/2' here but missing in the file");
  }
}

void expect_one_line_input_error(const std::function<void()>& f, const std::string& path, const std::string& needle) {
  ::testing::internal::CaptureStderr();
  try {
    f();
    ::testing::internal::GetCapturedStderr();
    ADD_FAILURE() << "no error for " << path;
  } catch (const InputError& e) {
    std::string err = ::testing::internal::GetCapturedStderr();
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_EQ(err, "") << "HDF5 printed to stderr";
  }
}

TEST(StoreResume, CorruptAndForeignFilesGiveOneLineErrors) {
  std::string dir = testing::temp_dir("corrupt");
  std::string good = dir + "/good.h5";
  testing::write_store(good, 20, 5);

  std::string text = dir + "/text.h5";
  std::ofstream(text) << "this is not hdf5\n";
  expect_one_line_input_error([&] { StoreReader r(text); }, text, "not an HDF5 file or corrupt");
  expect_one_line_input_error([&] { StoreWriter w(text, testing::base_manifest()); }, text, "not an HDF5 file");

  std::string missing = dir + "/missing.h5";
  expect_one_line_input_error([&] { StoreReader r(missing); }, missing, "no such file");

  std::string trunc = dir + "/trunc.h5";
  std::filesystem::copy_file(good, trunc);
  std::filesystem::resize_file(trunc, std::filesystem::file_size(good) / 2);
  expect_one_line_input_error([&] { StoreReader r(trunc); }, trunc, "corrupt");
  expect_one_line_input_error([&] { StoreWriter w(trunc, testing::base_manifest()); }, trunc, "corrupt");

  std::string foreign = dir + "/foreign.h5";
  hid_t f = H5Fcreate(foreign.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  H5Fclose(f);
  expect_one_line_input_error([&] { StoreReader r(foreign); }, foreign, "not a probescope store");
  expect_one_line_input_error([&] { StoreWriter w(foreign, testing::base_manifest()); }, foreign,
                              "not a probescope store");
}

}  // namespace
}  // namespace ps::store
