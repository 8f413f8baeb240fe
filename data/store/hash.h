#pragma once
// Streaming 64-bit content hash (XXH64, bit-identical to the reference xxHash library) whose state can be
// saved as text and restored, so the store's side journal (journal.h) can continue a dataset's checksum
// across process restarts without re-reading committed rows. The digest depends only on the byte
// stream, never on how it was split into update() calls.
#include <cstddef>
#include <cstdint>
#include <string>

namespace ps::store {

class StreamHash {
 public:
  StreamHash();  // seed 0
  void update(const void* data, size_t n);
  // Length-prefixed (8-byte little-endian length, then the bytes): how string datasets are hashed.
  void update_string(const std::string& s);
  uint64_t digest() const;  // of everything so far; the state is unchanged
  uint64_t length() const { return len_; }
  // Compact text form "v1.v2.v3.v4.len.tail" (hex); load() throws InputError naming `file` if malformed.
  std::string save() const;
  static StreamHash load(const std::string& file, const std::string& text);

 private:
  uint64_t v_[4], len_ = 0;
  uint8_t buf_[32] = {};
  uint32_t buf_n_ = 0;
};

std::string hex64(uint64_t v);  // 16 lower-case hex digits
uint64_t parse_hex64(const std::string& file, const std::string& s);  // InputError unless 1..16 hex digits

}  // namespace ps::store
