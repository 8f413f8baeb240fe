// Crash recovery: SIGKILL at every single HDF5 write of a commit, of finish() and of a salvage (through
// the pwrite hook), silent corruption planted in committed bytes, stale and missing journals.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>

#include "data/store/journal.h"
#include "models/util/error.h"
#include "tests/data/store/kill_hook.h"
#include "tests/data/store/store_fixture.h"

namespace ps::store {
namespace {

namespace fs = std::filesystem;
using testing::copy_store;
using testing::in_child;
using testing::journal_says_flushing;
using testing::killed;
constexpr int64_t kN = 42, kBase = 30, kBatch = 6;

// Diagnostic only: would the pre-journal writer, trusting the file, have finished it correctly?
bool naive_resume_ok(const std::string& damaged, const std::string& ref_dump, const WriterOptions& o) {
  std::string copy = damaged + ".naive.h5";
  fs::copy_file(damaged, copy, fs::copy_options::overwrite_existing);
  fs::remove(copy + ".commit");
  int64_t same = 0;
  int st = in_child([&] {  // a child: HDF5 may crash on what it reads
    ::testing::internal::CaptureStderr();
    testing::write_store(copy, kN, kBatch, o);
    return int64_t(testing::dump(copy) == ref_dump);
  }, &same);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 && same == 1;
}

// Resumes after a kill and checks the outcome: while the journal says a flush was interrupted, readers
// refuse and the resume rebuilds (at least the base commit survives); otherwise both just open. Either
// way the finished store equals an uninterrupted run.
void resume_and_check(const std::string& path, const std::string& ref_dump, const std::string& ref_extents,
                      const WriterOptions& o, int64_t k) {
  SCOPED_TRACE("killed before pwrite #" + std::to_string(k));
  bool flushing = journal_says_flushing(path);
  try {
    StoreReader r(path);
    EXPECT_FALSE(flushing) << "a reader opened a store whose writer died inside a flush";
  } catch (const InputError& e) {
    EXPECT_TRUE(flushing) << e.what();
    EXPECT_NE(std::string(e.what()).find("killed while committing"), std::string::npos) << e.what();
  }
  {
    ::testing::internal::CaptureStderr();
    StoreWriter w(path, testing::base_manifest(), o);
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_TRUE(w.committed_samples() == kBase || w.committed_samples() == kBase + kBatch) << w.committed_samples();
    EXPECT_EQ(w.recovery().empty(), !flushing);
    EXPECT_EQ(err, flushing ? w.recovery() + "\n" : "");
    testing::write_range(w, w.committed_samples(), kN - w.committed_samples(), kBatch);
    w.finish();
  }
  EXPECT_TRUE(testing::dump(path) == ref_dump);
  EXPECT_EQ(testing::extents(path), ref_extents);
  EXPECT_FALSE(fs::exists(path + ".commit"));
}

enum class Phase { commit, finish };

// Kills the writer before each pwrite of one commit (or finish) of batch [30, 36) on a 30-snippet store.
void sweep(const std::string& name, Phase phase, const WriterOptions& o) {
  std::string dir = testing::temp_dir(name);
  std::string ref = dir + "/ref.h5", base = dir + "/base.h5", path = dir + "/s.h5";
  testing::write_store(ref, kN, kBatch, o);
  std::string ref_dump = testing::dump(ref), ref_extents = testing::extents(ref);
  {
    StoreWriter w(base, testing::base_manifest(), o);
    testing::write_range(w, 0, kBase, kBatch);
  }
  auto child = [&](int64_t kill_at) {
    return [&, kill_at] {
      StoreWriter w(path, testing::base_manifest(), o);
      w.append(testing::make_batch(kBase, kBatch));
      if (phase == Phase::finish) w.commit();  // the commit's flush is the other sweep's
      testing::arm_pwrite_hook(kill_at);
      if (phase == Phase::commit) w.commit(); else w.finish();
      return testing::disarm_pwrite_hook();
    };
  };
  copy_store(base, path);
  int64_t writes = 0;
  ASSERT_EQ(in_child(child(0), &writes), 0);
  ASSERT_GT(writes, 2) << "the pwrite hook saw no HDF5 writes: it is not interposed";
  // PS_STORE_NAIVE_CHECK=1 also counts the kill points that would break the pre-journal resume (slow).
  const bool naive = std::getenv("PS_STORE_NAIVE_CHECK") != nullptr;
  int damaged = 0;
  for (int64_t k = 1; k <= writes; ++k) {
    copy_store(base, path);
    ASSERT_TRUE(killed(in_child(child(k)))) << "k=" << k;
    EXPECT_TRUE(journal_says_flushing(path)) << "pwrite #" << k << " happened outside the flush marker";
    if (naive && !naive_resume_ok(path, ref_dump, o)) ++damaged;
    resume_and_check(path, ref_dump, ref_extents, o, k);
  }
  if (naive)
    printf("[   info   ] %s: %lld kill points, %d of them break a resume that trusts the file\n", name.c_str(),
           static_cast<long long>(writes), damaged);
}

TEST(StoreCrash, KillAtEveryWriteOfACommit) { sweep("crash_commit", Phase::commit, {}); }

TEST(StoreCrash, KillAtEveryWriteOfACommitGzip) {
  WriterOptions o;
  o.gzip = 4;
  o.chunk_bytes = 512;  // many small recompressed chunks
  sweep("crash_commit_gzip", Phase::commit, o);
}

TEST(StoreCrash, KillAtEveryWriteOfFinish) { sweep("crash_finish", Phase::finish, {}); }

// A kill inside the salvage itself (it builds <file>.partial, then renames): the next resume salvages again.
TEST(StoreCrash, KillAtEveryWriteOfASalvage) {
  std::string dir = testing::temp_dir("crash_salvage");
  std::string ref = dir + "/ref.h5", base = dir + "/base.h5", damaged = dir + "/damaged.h5", path = dir + "/s.h5";
  testing::write_store(ref, kN, kBatch);
  std::string ref_dump = testing::dump(ref), ref_extents = testing::extents(ref);
  {
    StoreWriter w(base, testing::base_manifest());
    testing::write_range(w, 0, kBase, kBatch);
  }
  // Damage: killed in the middle of the next commit's flush.
  copy_store(base, damaged);
  int64_t writes = 0;
  auto commit_child = [&](int64_t kill_at) {
    return [&, kill_at] {
      StoreWriter w(damaged, testing::base_manifest());
      w.append(testing::make_batch(kBase, kBatch));
      testing::arm_pwrite_hook(kill_at);
      w.commit();
      return testing::disarm_pwrite_hook();
    };
  };
  ASSERT_EQ(in_child(commit_child(0), &writes), 0);
  copy_store(base, damaged);
  ASSERT_TRUE(killed(in_child(commit_child(writes / 2))));
  auto salvage_child = [&](int64_t kill_at) {
    return [&, kill_at] {
      testing::arm_pwrite_hook(kill_at);
      ::testing::internal::CaptureStderr();
      StoreWriter w(path, testing::base_manifest());
      return testing::disarm_pwrite_hook();
    };
  };
  copy_store(damaged, path);
  int64_t salvage_writes = 0;
  ASSERT_EQ(in_child(salvage_child(0), &salvage_writes), 0);
  ASSERT_GT(salvage_writes, 2);
  // Most of a salvage's writes build <file>.partial and are alike: every 4th, and each of the last 6.
  for (int64_t k = 1; k <= salvage_writes; k += (k + 6 > salvage_writes ? 1 : 4)) {
    copy_store(damaged, path);
    ASSERT_TRUE(killed(in_child(salvage_child(k)))) << "k=" << k;
    resume_and_check(path, ref_dump, ref_extents, {}, k);
  }
}

}  // namespace
}  // namespace ps::store
