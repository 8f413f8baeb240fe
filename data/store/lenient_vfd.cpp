// A read-only HDF5 file driver for salvage. A kill inside H5Fflush typically leaves the superblock, which
// HDF5 writes last, with the old end-of-allocation (EOA) while chunk-index nodes already point at chunks
// written past it; sec2 then refuses those reads ("addr overflow ... eoa"), which would make committed
// rows (recompressed into a moved chunk) unreadable. This driver reports EOA = max(stored EOA, file
// size), so every byte that reached the file can be read; the journal's checksums decide what is valid.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <new>

#include "data/store/h5.h"

namespace ps::store::h5 {

namespace {
struct LenientFile {
  H5FD_t pub;  // first: HDF5 casts between the two
  int fd = -1;
  haddr_t eoa = 0, eof = 0;
  dev_t dev = 0;
  ino_t ino = 0;
};

H5FD_t* lenient_open(const char* name, unsigned flags, hid_t, haddr_t) {
  if (flags & (H5F_ACC_RDWR | H5F_ACC_TRUNC | H5F_ACC_CREAT)) return nullptr;  // read-only by design
  int fd = ::open(name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return nullptr;
  }
  auto* f = new (std::nothrow) LenientFile();
  if (!f) {
    ::close(fd);
    return nullptr;
  }
  f->fd = fd;
  f->eof = haddr_t(st.st_size);
  f->dev = st.st_dev;
  f->ino = st.st_ino;
  return &f->pub;
}

herr_t lenient_close(H5FD_t* file) {
  auto* f = reinterpret_cast<LenientFile*>(file);
  int rc = ::close(f->fd);
  delete f;
  return rc == 0 ? 0 : -1;
}

int lenient_cmp(const H5FD_t* a, const H5FD_t* b) {
  auto* x = reinterpret_cast<const LenientFile*>(a);
  auto* y = reinterpret_cast<const LenientFile*>(b);
  if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
  if (x->ino != y->ino) return x->ino < y->ino ? -1 : 1;
  return 0;
}

herr_t lenient_query(const H5FD_t*, unsigned long* flags) {
  *flags = H5FD_FEAT_ACCUMULATE_METADATA | H5FD_FEAT_DATA_SIEVE;
  return 0;
}

haddr_t lenient_get_eoa(const H5FD_t* file, H5FD_mem_t) {
  auto* f = reinterpret_cast<const LenientFile*>(file);
  return std::max(f->eoa, f->eof);
}

herr_t lenient_set_eoa(H5FD_t* file, H5FD_mem_t, haddr_t addr) {
  reinterpret_cast<LenientFile*>(file)->eoa = addr;
  return 0;
}

haddr_t lenient_get_eof(const H5FD_t* file, H5FD_mem_t) { return reinterpret_cast<const LenientFile*>(file)->eof; }

herr_t lenient_get_handle(H5FD_t* file, hid_t, void** handle) {
  *handle = &reinterpret_cast<LenientFile*>(file)->fd;
  return 0;
}

herr_t lenient_read(H5FD_t* file, H5FD_mem_t, hid_t, haddr_t addr, size_t size, void* buf) {
  auto* f = reinterpret_cast<LenientFile*>(file);
  auto* p = static_cast<unsigned char*>(buf);
  while (size > 0) {
    ssize_t n = ::pread(f->fd, p, size, off_t(addr));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) {  // past the end of the file: zeros, as sec2 does
      std::fill(p, p + size, 0);
      break;
    }
    p += n;
    addr += haddr_t(n);
    size -= size_t(n);
  }
  return 0;
}

herr_t lenient_write(H5FD_t*, H5FD_mem_t, hid_t, haddr_t, size_t, const void*) { return -1; }

herr_t lenient_truncate(H5FD_t*, hid_t, hbool_t) { return 0; }  // read-only: nothing to do

H5FD_class_t make_class() {
  H5FD_class_t c{};
  c.name = "ps_lenient_read";
  c.maxaddr = haddr_t(INT64_MAX);
  c.fc_degree = H5F_CLOSE_WEAK;
  c.open = lenient_open;
  c.close = lenient_close;
  c.cmp = lenient_cmp;
  c.query = lenient_query;
  c.get_eoa = lenient_get_eoa;
  c.set_eoa = lenient_set_eoa;
  c.get_eof = lenient_get_eof;
  c.get_handle = lenient_get_handle;
  c.read = lenient_read;
  c.write = lenient_write;
  c.truncate = lenient_truncate;
  H5FD_mem_t map[] = H5FD_FLMAP_DICHOTOMY;
  std::copy(std::begin(map), std::end(map), c.fl_map);
  return c;
}
}  // namespace

hid_t lenient_read_fapl() {
  static const H5FD_class_t cls = make_class();
  static hid_t fapl = [] {
    hid_t driver = H5FDregister(&cls);
    hid_t p = H5Pcreate(H5P_FILE_ACCESS);
    if (driver < 0 || p < 0 || H5Pset_driver(p, driver, nullptr) < 0) return hid_t(-1);
    return p;
  }();
  return fapl;
}

}  // namespace ps::store::h5
