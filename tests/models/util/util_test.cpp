// SHA-256 against FIPS 180-4 / NIST vectors, streaming in any chunking; atomic writes; memory maps.
#include <gtest/gtest.h>

#include <map>

#include <filesystem>
#include <random>
#include <string>

#include "models/util/error.h"
#include "models/util/files.h"
#include "models/util/sha256.h"
#include "models/util/spec.h"
#include "tests/common/scratch.h"

namespace {
std::string scratch(const std::string& name) {
  return ps::test::scratch_dir(name).string();
}
}  // namespace

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(ps::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(ps::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ps::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(ps::sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  // Lengths around the padding boundary (55, 56, 64 bytes) exercise the one- vs two-block finish.
  EXPECT_EQ(ps::sha256_hex(std::string(55, 'a')), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  EXPECT_EQ(ps::sha256_hex(std::string(56, 'a')), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  EXPECT_EQ(ps::sha256_hex(std::string(64, 'a')), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

// The SHA-extension path (where the CPU has it) and the portable one agree on every length around the
// block and padding boundaries and on multi-block inputs fed in odd chunks.
TEST(Sha256, HardwareAndPortablePathsAgree) {
  if (!ps::sha256_uses_sha_ni()) GTEST_SKIP() << "no SHA extensions on this CPU: only the portable path runs";
  std::mt19937 rng(11);
  std::string bytes(70000, '\0');
  for (auto& c : bytes) c = char(rng());
  for (size_t n : {0, 1, 55, 56, 63, 64, 65, 119, 128, 1000, 4096, 65537, 70000})
    EXPECT_EQ(ps::sha256_hex(bytes.substr(0, n)), ps::sha256_hex_portable(bytes.substr(0, n))) << n << " bytes";
  ps::Sha256 streamed;
  for (size_t off = 0; off < bytes.size();) {
    const size_t n = std::min<size_t>(bytes.size() - off, 1 + rng() % 700);
    streamed.update(bytes.data() + off, n);
    off += n;
  }
  EXPECT_EQ(streamed.hex_digest(), ps::sha256_hex_portable(bytes));
}

TEST(Sha256, MillionAsStreamedInAnyChunking) {
  const std::string expect = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
  const std::string all(1000000, 'a');
  EXPECT_EQ(ps::sha256_hex(all), expect);
  std::mt19937 rng(7);
  for (int trial = 0; trial < 3; ++trial) {
    ps::Sha256 s;
    size_t off = 0;
    while (off < all.size()) {
      const size_t n = std::min<size_t>(all.size() - off, rng() % (trial == 0 ? 3 : 300));  // includes 0-byte updates
      s.update(all.data() + off, n);
      off += n;
    }
    EXPECT_EQ(s.hex_digest(), expect);
    EXPECT_EQ(s.hex_digest(), expect);  // finalizing twice returns the same digest
    EXPECT_THROW(s.update("x", 1), ps::RuntimeError);
  }
}

TEST(Files, AtomicWriteReplacesAndLeavesNoTemp) {
  const std::string dir = scratch("atomic");
  const std::string p = dir + "/a.bin";
  ps::write_file_atomic(p, std::string("hello\0world", 11));
  EXPECT_FALSE(ps::file_exists(p + ".tmp"));
  EXPECT_EQ(ps::read_file(p), std::string("hello\0world", 11));
  ps::write_file_atomic(p, "second");
  EXPECT_EQ(ps::read_file(p), "second");
  EXPECT_EQ(std::filesystem::file_size(p), 6u);
  try {
    ps::write_file_atomic(dir + "/no/such/dir/x", "y");
    FAIL();
  } catch (const ps::RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/no/such/dir/x.tmp: cannot create"), std::string::npos) << e.what();
  }
  // Renaming onto a directory fails after the temp file is written: the temp must be cleaned up.
  std::filesystem::create_directories(dir + "/d/inner");
  EXPECT_THROW(ps::write_file_atomic(dir + "/d", "z"), ps::RuntimeError);
  EXPECT_FALSE(ps::file_exists(dir + "/d.tmp"));
  std::filesystem::remove_all(dir);
}

TEST(Files, MapReadAndErrors) {
  const std::string dir = scratch("map");
  const std::string p = dir + "/a.bin";
  std::string big(3 * 4096 + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31 + 5);
  ps::write_file_atomic(p, big);
  ps::MappedFile m(p);
  ASSERT_EQ(m.size(), big.size());
  EXPECT_EQ(m.path(), p);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m.data()), m.size()), big);
  EXPECT_EQ(ps::sha256_file(p), ps::sha256_hex(big));
  ps::MappedFile moved(std::move(m));  // ownership moves; the source is left empty
  EXPECT_EQ(m.data(), nullptr);
  EXPECT_EQ(m.size(), 0u);
  EXPECT_EQ(moved.data()[100], big[100]);
  ps::MappedFile assigned;
  assigned = std::move(moved);
  EXPECT_EQ(assigned.size(), big.size());

  ps::write_file_atomic(p, "");
  ps::MappedFile empty(p);
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_EQ(empty.data(), nullptr);
  EXPECT_EQ(ps::read_file(p), "");
  EXPECT_EQ(ps::sha256_file(p), ps::sha256_hex(""));

  for (const std::string& bad : {dir + "/nope", dir}) {
    for (int which = 0; which < 3; ++which) {
      try {
        if (which == 0) ps::MappedFile x(bad);
        if (which == 1) ps::read_file(bad);
        if (which == 2) ps::sha256_file(bad);
        ADD_FAILURE() << "no error for " << bad << " #" << which;
      } catch (const ps::InputError& e) {
        const std::string msg = e.what();
        EXPECT_EQ(msg.rfind(bad + ": ", 0), 0u) << msg;
        EXPECT_NE(msg.find(bad == dir ? "is a directory" : "cannot open"), std::string::npos) << msg;
      }
    }
  }
  EXPECT_TRUE(ps::file_exists(dir));
  EXPECT_FALSE(ps::file_exists(dir + "/nope"));
  std::filesystem::remove_all(dir);
}

// One grammar for every list setting: a bad item names the setting, never a bare "stoi".
TEST(Spec, ListsOfIntegersAndNumbersNameTheSettingOnBadInput) {
  using namespace ps::spec;
  EXPECT_EQ(int_list("1, 2,-3", "--blocks"), (std::vector<int64_t>{1, 2, -3}));
  EXPECT_EQ(number_list("0.8,0.1,1e-1", "--split"), (std::vector<double>{0.8, 0.1, 0.1}));
  EXPECT_EQ(split_list("", "--estimators").size(), 0u);
  EXPECT_EQ(split_list("twonn,mle", "--estimators"), (std::vector<std::string>{"twonn", "mle"}));
  const auto message = [](auto&& f) {
    try {
      f();
    } catch (const ps::InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message([] { int_list("1,x", "--blocks"); }), "--blocks: 'x' is not an integer");
  EXPECT_EQ(message([] { int_list("12abc", "--k"); }), "--k: '12abc' is not an integer");
  EXPECT_EQ(message([] { int_list("99999999999999999999", "--k"); }), "--k: '99999999999999999999' is not an integer");
  EXPECT_EQ(message([] { to_int("0", "--blocks", 1); }), "--blocks: '0' must be >= 1");
  EXPECT_EQ(message([] { int_list("1,,2", "--seeds"); }), "--seeds: empty item in '1,,2'");
  EXPECT_EQ(message([] { int_list("", "--seeds"); }), "--seeds: empty list");
  EXPECT_EQ(message([] { number_list("0.8,nan", "--split"); }), "--split: 'nan' is not a finite number");
  int64_t v = 0;
  EXPECT_TRUE(try_int("+7", v));
  EXPECT_EQ(v, 7);
  EXPECT_FALSE(try_int("7.0", v));
  EXPECT_FALSE(try_int("", v));
}

TEST(Spec, NamedCountsTakeOneForEveryNameOrOnePerName) {
  using namespace ps::spec;
  EXPECT_TRUE(named_counts("", "--limit-per-split").empty());
  EXPECT_EQ(named_counts("7", "--limit-per-split"), (std::map<std::string, int64_t>{{"", 7}}));
  EXPECT_EQ(named_counts("train=3000, test=5", "--limit-per-split"),
            (std::map<std::string, int64_t>{{"train", 3000}, {"test", 5}}));
  for (const char* bad : {"train=-1", "train=x", "=3", "train", "train=1,train=2", "-2"})
    EXPECT_THROW(named_counts(bad, "--limit-per-split"), ps::InputError) << bad;
}

// One mask grammar for the forward (--mask) and the pictures (plot mask).
TEST(Spec, MaskModesParseAndBadOnesNameTheSetting) {
  using ps::spec::MaskSpec;
  using ps::spec::parse_mask;
  EXPECT_EQ(parse_mask("default").kind, MaskSpec::Kind::Default);
  const auto lm = parse_mask("lm-infinite:4:16");
  EXPECT_EQ(lm.kind, MaskSpec::Kind::LmInfinite);
  EXPECT_EQ(lm.n_global, 4);
  EXPECT_EQ(lm.local, 16);
  EXPECT_EQ(lm.limit, 16);  // the distance cap defaults to the window, as in the authors' code
  EXPECT_EQ(parse_mask("lm-infinite:4:16:64").limit, 64);
  EXPECT_EQ(parse_mask("lm-infinite:4:16:none").limit, 0);
  const auto w = parse_mask("window:8:bidirectional");
  EXPECT_EQ(w.kind, MaskSpec::Kind::Window);
  EXPECT_EQ(w.window, 8);
  EXPECT_EQ(w.direction, -1);
  const auto p = parse_mask("packed:3,5:bidirectional");
  EXPECT_EQ(p.kind, MaskSpec::Kind::Bidirectional);
  EXPECT_EQ(p.packed, (std::vector<int64_t>{3, 5}));
  for (const char* bad : {"lm-infinite:4", "lm-infinite:-1:4", "lm-infinite:4:16:8", "lm-infinite:4:16:all",
                          "lm-infinite:1:2:3:4", "window:0", "window:4:sideways", "packed:", "banana"}) {
    try {
      parse_mask(bad);
      ADD_FAILURE() << bad << " accepted";
    } catch (const ps::InputError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--mask '", 0), 0u) << e.what();
    }
  }
}
