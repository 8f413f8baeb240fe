#pragma once
// SHA-256 for manifests (hash of weights/config/tokenizer, corpus). Streaming so large files hash in O(1) memory.
#include <cstddef>
#include <cstdint>
#include <string>

namespace ps {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t n);
  // Finalizes; later calls return the same digest, a later update() throws RuntimeError.
  std::string hex_digest();

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
  bool finished_ = false;
  std::string digest_;
};

std::string sha256_hex(const std::string& bytes);
std::string sha256_file(const std::string& path);  // throws InputError if unreadable or a directory

}  // namespace ps
