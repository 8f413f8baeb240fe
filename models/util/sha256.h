#pragma once
// SHA-256 for manifests (hash of weights/config/tokenizer, corpus). Streaming so large files hash in O(1) memory.
#include <cstddef>
#include <cstdint>
#include <string>

namespace ps {

class Sha256 {
 public:
  Sha256();
  explicit Sha256(bool allow_sha_ni);
  void update(const void* data, size_t n);
  // Finalizes; later calls return the same digest, a later update() throws RuntimeError.
  std::string hex_digest();

 private:
  void blocks(const uint8_t* p, size_t n);  // n whole 64-byte blocks
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
  bool finished_ = false;
  bool sha_ni_;
  std::string digest_;
};

std::string sha256_hex(const std::string& bytes);
// True where this CPU has the SHA extensions, which Sha256 then uses (the weights and corpus hashes of a
// manifest were ~10% of a short extraction with the portable code).
bool sha256_uses_sha_ni();
// The portable code alone, whatever the CPU: for tests that compare the two.
std::string sha256_hex_portable(const std::string& bytes);
std::string sha256_file(const std::string& path);  // throws InputError if unreadable or a directory

}  // namespace ps
