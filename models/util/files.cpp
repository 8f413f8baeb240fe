#include "models/util/files.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "models/util/error.h"

namespace ps {

namespace {
std::string errno_text() { return std::strerror(errno); }

// Opens for reading and rejects directories up front: ifstream "opens" a directory and then reads
// nothing, which would silently turn a wrong path into an empty file.
int open_regular(const std::string& path, struct stat* st) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(where(path, "cannot open: " + errno_text()));
  if (::fstat(fd, st) != 0) {
    const std::string err = errno_text();
    ::close(fd);
    throw InputError(where(path, "cannot stat: " + err));
  }
  if (S_ISDIR(st->st_mode)) {
    ::close(fd);
    throw InputError(where(path, "is a directory, expected a file"));
  }
  return fd;
}

// The directory holding path, for fsync after rename.
std::string parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}
}  // namespace

std::string read_file(const std::string& path) {
  struct stat st {};
  const int fd = open_regular(path, &st);
  std::string out;
  if (S_ISREG(st.st_mode)) out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string err = errno_text();
      ::close(fd);
      throw InputError(where(path, "read failed: " + err));
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw RuntimeError(where(tmp, "cannot create: " + errno_text()));
  size_t off = 0;
  while (off < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + off, contents.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string err = errno_text();
      ::close(fd);
      ::unlink(tmp.c_str());
      throw RuntimeError(where(tmp, "write failed: " + err));
    }
    off += static_cast<size_t>(n);
  }
  // fsync before rename: after a crash the file is either the old one or the complete new one.
  if (::fsync(fd) != 0) {
    const std::string err = errno_text();
    ::close(fd);
    ::unlink(tmp.c_str());
    throw RuntimeError(where(tmp, "flush failed: " + err));
  }
  if (::close(fd) != 0) {
    const std::string err = errno_text();
    ::unlink(tmp.c_str());
    throw RuntimeError(where(tmp, "close failed: " + err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string err = errno_text();
    ::unlink(tmp.c_str());
    throw RuntimeError(where(path, "cannot rename into place: " + err));
  }
  // Make the rename itself durable; best effort (some filesystems refuse fsync on directories).
  const int dfd = ::open(parent_dir(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

MappedFile::MappedFile(const std::string& path) : path_(path) {
  struct stat st {};
  const int fd = open_regular(path, &st);
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw InputError(where(path, "not a regular file, cannot map"));
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const std::string err = errno_text();
      ::close(fd);
      size_ = 0;
      throw InputError(where(path, "cannot map: " + err));
    }
    data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);  // the mapping stays valid without the descriptor
}

MappedFile::~MappedFile() { reset(); }

void MappedFile::reset() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

MappedFile::MappedFile(MappedFile&& o) noexcept : path_(std::move(o.path_)), data_(o.data_), size_(o.size_) {
  o.data_ = nullptr;
  o.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    reset();
    path_ = std::move(o.path_);
    data_ = o.data_;
    size_ = o.size_;
    o.data_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

}  // namespace ps
