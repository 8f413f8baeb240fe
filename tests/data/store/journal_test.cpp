// The crash journal's building blocks: the streaming XXH64 (against the reference xxHash library and
// published vectors), its saved state, and the journal's retention of old commits.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "data/store/hash.h"
#include "data/store/journal.h"
#include "models/util/error.h"

namespace ps::store {
namespace {

uint64_t xxh64(const std::string& s) {
  StreamHash h;
  h.update(s.data(), s.size());
  return h.digest();
}

TEST(StreamHash, PublishedVectors) {
  EXPECT_EQ(xxh64(""), 0xef46db3751d8e999ull);
  EXPECT_EQ(xxh64("abc"), 0x44bc2cf5ad770999ull);
  EXPECT_EQ(xxh64("Nobody inspects the spammish repetition"), 0xfbcea83c8a378bf1ull);
}

// Debian's apt depends on libxxhash0, so the reference implementation is on every machine.
TEST(StreamHash, MatchesLibxxhashOnRandomInputs) {
  void* lib = dlopen("libxxhash.so.0", RTLD_NOW);
  if (!lib) GTEST_SKIP() << "libxxhash.so.0 not installed";
  using Fn = unsigned long long (*)(const void*, size_t, unsigned long long);
  auto ref = reinterpret_cast<Fn>(dlsym(lib, "XXH64"));
  ASSERT_NE(ref, nullptr);
  std::mt19937_64 rng(7);
  for (size_t n = 0; n < 300; ++n) {
    std::string s(n * 7 % 1000, '\0');
    for (char& c : s) c = char(rng());
    EXPECT_EQ(xxh64(s), ref(s.data(), s.size(), 0)) << "length " << s.size();
  }
  dlclose(lib);
}

TEST(StreamHash, DigestIgnoresHowTheStreamIsSplitAndSurvivesSaveLoad) {
  std::mt19937_64 rng(11);
  std::string s(5000, '\0');
  for (char& c : s) c = char(rng());
  uint64_t whole = xxh64(s);
  for (int trial = 0; trial < 50; ++trial) {
    StreamHash h;
    size_t pos = 0;
    while (pos < s.size()) {
      size_t n = std::min<size_t>(s.size() - pos, rng() % 70);
      h.update(s.data() + pos, n);
      pos += n;
      if (rng() % 4 == 0) h = StreamHash::load("j", h.save());  // resumed in a new process
    }
    EXPECT_EQ(h.digest(), whole);
    EXPECT_EQ(h.length(), s.size());
  }
  std::string flipped = s;
  flipped[4321] ^= 0x10;
  EXPECT_NE(xxh64(flipped), whole);
}

TEST(StreamHash, MalformedStateIsAnInputError) {
  StreamHash h;
  h.update("abcde", 5);
  std::string ok = h.save();
  EXPECT_NO_THROW(StreamHash::load("j", ok));
  EXPECT_THROW(StreamHash::load("j", ok.substr(0, ok.size() - 2)), InputError);  // tail shorter than len % 32
  EXPECT_THROW(StreamHash::load("j", "zz." + ok), InputError);
  EXPECT_THROW(StreamHash::load("j", "1.2.3"), InputError);
}

TEST(Journal, KeepsRecentCommitsAndThinsOldOnesGeometrically) {
  Journal j;
  for (int64_t s = 0; s <= 10000; s += 10) j.push(CommitRecord{s, {}});
  ASSERT_LE(j.commits.size(), 16u);
  EXPECT_EQ(j.commits.front().samples, 0);  // the oldest stays
  for (size_t i = j.commits.size() - 4; i + 1 < j.commits.size(); ++i)
    EXPECT_EQ(j.commits[i + 1].samples - j.commits[i].samples, 10);  // the last ones stay dense
  // Gaps grow with age: no older gap is smaller than half of a newer one (roughly geometric).
  for (size_t i = 1; i + 1 < j.commits.size(); ++i) {
    int64_t older = j.commits[i].samples - j.commits[i - 1].samples;
    int64_t newer = j.commits[i + 1].samples - j.commits[i].samples;
    EXPECT_GE(2 * older, newer) << i;
  }
}

TEST(Journal, JsonRoundTripAndMalformedInput) {
  Journal j;
  j.uid = "u1";
  j.flushing = true;
  j.gzip = 3;
  j.chunk_bytes = 4096;
  j.manifest_json = R"({"a":"b"})";
  j.schema_json = "{}";
  j.commits.push_back(CommitRecord{6, {{"/samples/ids", {6, 0x0123456789abcdefull}}}});
  j.pending = CommitRecord{12, {{"/samples/ids", {12, 42}}}};
  j.states["/samples/ids"] = StreamHash().save();
  Journal k = Journal::parse("x.commit", j.to_json());
  EXPECT_EQ(k.to_json(), j.to_json());
  EXPECT_TRUE(k.flushing);
  EXPECT_EQ(k.commits.at(0).datasets.at("/samples/ids"), (DatasetMark{6, 0x0123456789abcdefull}));
  EXPECT_EQ(k.pending->samples, 12);
  for (std::string bad : {"", "{}", "[1]", R"({"format":"probescope-store-journal","version":2})"}) {
    try {
      Journal::parse("x.commit", bad);
      ADD_FAILURE() << bad;
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("x.commit: store journal malformed", 0), 0u) << e.what();
    }
  }
}

}  // namespace
}  // namespace ps::store
