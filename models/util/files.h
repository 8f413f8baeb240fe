#pragma once
// Small file helpers: whole-file reads with clear errors, read-only memory maps, atomic writes.
#include <cstddef>
#include <cstdint>
#include <string>

namespace ps {

// Reads a whole file; throws InputError("path: cannot open ...") if missing/unreadable or a directory.
std::string read_file(const std::string& path);

// Writes to path+".tmp", fsyncs, then renames, so a crash never leaves a half-written file that looks
// complete. Throws RuntimeError on I/O failure (the .tmp file is removed).
void write_file_atomic(const std::string& path, const std::string& contents);

bool file_exists(const std::string& path);

// Read-only mmap of a whole file (empty files map to size 0, data nullptr). Movable, not copyable.
// The data has no alignment guarantee beyond the page start; truncating the file while it is mapped
// makes later reads fault (SIGBUS), as with any mmap — model files are not rewritten in place.
class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  void reset();
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace ps
