// SHA-256 against FIPS 180-4 vectors; atomic writes; memory maps.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "models/util/error.h"
#include "models/util/files.h"
#include "models/util/sha256.h"

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(ps::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(ps::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ps::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  ps::Sha256 s;  // one million 'a', streamed in uneven pieces
  const std::string chunk(997, 'a');
  size_t left = 1000000;
  while (left) {
    const size_t n = std::min(left, chunk.size());
    s.update(chunk.data(), n);
    left -= n;
  }
  EXPECT_EQ(s.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Files, AtomicWriteMapAndErrors) {
  const auto dir = std::filesystem::temp_directory_path() / "ps_util_test";
  std::filesystem::create_directories(dir);
  const std::string p = (dir / "a.bin").string();
  ps::write_file_atomic(p, std::string("hello\0world", 11));
  EXPECT_FALSE(ps::file_exists(p + ".tmp"));
  ps::MappedFile m(p);
  ASSERT_EQ(m.size(), 11u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m.data()), 11), std::string("hello\0world", 11));
  EXPECT_EQ(ps::read_file(p).size(), 11u);
  EXPECT_EQ(ps::sha256_file(p), ps::sha256_hex(std::string("hello\0world", 11)));
  ps::write_file_atomic(p, "");
  ps::MappedFile empty(p);
  EXPECT_EQ(empty.size(), 0u);
  try {
    ps::MappedFile missing((dir / "nope").string());
    FAIL();
  } catch (const ps::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("nope: cannot open"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ps::read_file((dir / "nope").string()), ps::InputError);
  EXPECT_THROW(ps::MappedFile(dir.string()), ps::InputError);  // a directory
  std::filesystem::remove_all(dir);
}
