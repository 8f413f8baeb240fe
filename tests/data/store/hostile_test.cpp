// Untrusted metadata: offsets that go backwards or past the end, row counts the datasets do not hold,
// shapes whose product overflows. Each is a one-line CorruptStore naming the file and the problem,
// raised before anything is allocated for the claimed size (checked in a child under RLIMIT_AS).
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <vector>

#include "data/store/integrity.h"
#include "data/store/layout.h"
#include "models/util/error.h"
#include "tests/common/scratch.h"
#include "tests/data/store/damage.h"
#include "tests/data/store/store_fixture.h"

namespace ps::store {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kN = 40;
constexpr const char* kTok = "/samples/token_offsets";

// A finished store without checksums (as from an older build), so the structural checks speak rather
// than the checksum of the edited dataset.
std::string legacy_store(const fs::path& dir) {
  std::string p = (dir / "s.h5").string();
  testing::write_store(p, kN, 15);
  testing::strip_checksums(p);
  return p;
}

std::string open_error(const std::string& p) {
  try {
    StoreReader r(p);
    r.verify();
  } catch (const CorruptStore& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("not CorruptStore: ") + e.what();
  }
  return "";
}

void expect_one_line(const std::string& msg, const std::string& p, const std::string& what) {
  EXPECT_EQ(msg.rfind(p + ": ", 0), 0u) << msg;
  EXPECT_NE(msg.find(what), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST(StoreHostile, OffsetsGoingBackwards) {
  std::string p = legacy_store(ps::test::scratch_dir());
  int64_t k = 5;
  ASSERT_GT(testing::get_i64(p, kTok, k - 1), 0);
  testing::set_i64(p, kTok, k, 0);
  expect_one_line(open_error(p), p, std::string(kTok) + " goes backwards at entry 5");
}

TEST(StoreHostile, OffsetsGoingBackwardsWithChecksumsNameTheDataset) {
  fs::path dir = ps::test::scratch_dir();
  std::string p = (dir / "s.h5").string();
  testing::write_store(p, kN, 15);
  testing::set_i64(p, kTok, 5, 0);
  expect_one_line(open_error(p), p, std::string(kTok) + ": checksum mismatch");
}

TEST(StoreHostile, OffsetsPastTheEnd) {
  std::string p = legacy_store(ps::test::scratch_dir());
  testing::set_i64(p, kTok, kN, testing::get_i64(p, kTok, kN) + 1000);
  expect_one_line(open_error(p), p, std::string(kTok) + " points past the end of /tokens/");
}

TEST(StoreHostile, ClaimedSamplesBeyondTheDatasets) {
  std::string p = legacy_store(ps::test::scratch_dir());
  testing::set_root_i64(p, layout::kAttrCommitted, kN + 10);
  expect_one_line(open_error(p), p, "committed_samples is 50 but /samples/ids has only 40 rows");
}

// Found by fuzz_store: a damaged column dtype attribute said only "unknown dtype 'f'", naming no file.
TEST(StoreHostile, DamagedColumnDtypeNamesTheFileAndColumn) {
  std::string p = legacy_store(ps::test::scratch_dir());
  testing::set_str_attr(p, "/tokens/input_ids", "dtype", "f");
  try {
    StoreReader r(p);
    r.verify();
    FAIL() << "a column with dtype 'f' opened";
  } catch (const InputError& e) {
    expect_one_line(e.what(), p, "/tokens/input_ids: unknown dtype 'f'");
  }
}

TEST(StoreHostile, SubwordRangeOutsideItsSnippet) {
  std::string p = legacy_store(ps::test::scratch_dir());
  // subword_spans is [W, 2] int64: element 1 of row 0 is its end, as a flat index into a 1-D view.
  h5::Ctx c{p};
  auto lk = h5::lock();
  hid_t f = H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t ds = H5Dopen2(f, layout::kSubwordSpans, H5P_DEFAULT);
  int64_t row[2] = {0, 999};
  h5::write_rows(c, ds, 0, 1, DType::i64, row);
  H5Dclose(ds);
  H5Fclose(f);
  expect_one_line(open_error(p), p, std::string(layout::kSubwordSpans) + " row 0: token range [0, 999)");
}

// Runs `body` in a child limited to 2 GiB of address space; returns "exit N: <first line it wrote>"
// or "killed by signal N".
std::string in_limited_child(const std::function<void()>& body) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    rlimit lim{rlim_t(2) << 30, rlim_t(2) << 30};
    setrlimit(RLIMIT_AS, &lim);
    auto say = [&](const std::string& s) { (void)!write(fds[1], s.data(), s.size()); };
    int code = 0;
    try {
      body();
      say("no error");
    } catch (const Error& e) {
      say(e.what());
      code = 3;
    } catch (const std::bad_alloc&) {
      say("bad_alloc");
      code = 4;
    } catch (const std::exception& e) {
      say(std::string("untyped: ") + e.what());
      code = 5;
    }
    _exit(code);
  }
  close(fds[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, size_t(n));
  close(fds[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  if (WIFSIGNALED(st)) return "killed by signal " + std::to_string(WTERMSIG(st));
  return "exit " + std::to_string(WEXITSTATUS(st)) + ": " + out;
}

void open_and_read(const std::string& p) {
  StoreReader r(p);
  r.load_act(act_name(Rows::tokens, 0));
  r.verify();
}

TEST(StoreHostile, HugeClaimsFailCleanlyUnderAMemoryLimit) {
  fs::path dir = ps::test::scratch_dir();
  std::string base = (dir / "base.h5").string();
  testing::write_store(base, kN, 15);
  const int64_t huge = int64_t(1) << 31;  // offsets alone would be 16 GiB
  struct Case {
    const char* name;
    std::function<void(const std::string&)> plant;
    const char* expect;
  };
  std::vector<Case> cases = {
      {"samples", [&](const std::string& p) {
         testing::set_root_i64(p, layout::kAttrCommitted, huge);
         for (const char* d : {layout::kIds, layout::kTokenOffsets, layout::kWordOffsets, layout::kSyntaxOffsets})
           testing::set_extent(p, d, huge + 1);
       }, "chunks they need"},
      {"rows", [&](const std::string& p) {
         testing::strip_checksums(p);  // so the offsets edit reaches the size checks
         testing::set_i64(p, kTok, kN, int64_t(1) << 40);
         for (const char* d : {layout::kInputIds, layout::kCharSpans, "/acts/tokens/layer_0", "/acts/tokens/layer_1"})
           testing::set_extent(p, d, int64_t(1) << 40);
       }, "chunks they need"},
      {"width", [&](const std::string& p) {
         testing::replace_wide(p, "/acts/tokens/layer_0", testing::get_i64(p, kTok, kN), int64_t(1) << 40);
       }, "/acts/tokens/layer_0"},
      {"overflow", [&](const std::string& p) {
         testing::replace_wide(p, "/acts/tokens/layer_0", testing::get_i64(p, kTok, kN), int64_t(1) << 62);
       }, "overflows"},
  };
  for (const Case& c : cases) {
    std::string p = (dir / (std::string(c.name) + ".h5")).string();
    fs::copy_file(base, p);
    c.plant(p);
    std::string got = in_limited_child([&] { open_and_read(p); });
    EXPECT_EQ(got.rfind("exit 3: " + p + ": ", 0), 0u) << c.name << ": " << got;
    EXPECT_NE(got.find(c.expect), std::string::npos) << c.name << ": " << got;
  }
}

}  // namespace
}  // namespace ps::store
