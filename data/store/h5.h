#pragma once
// Thin RAII layer over the HDF5 1.10 C API used by the store. Every failure throws a ps exception
// "file: what: <HDF5's own message>"; HDF5's automatic error-stack printing is switched off.
// Debian's libhdf5 is the serial (non-thread-safe) build, so every call runs under lock().
#include <hdf5.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "data/store/types.h"

namespace ps::store::h5 {

// The one lock around all HDF5 use in the process (recursive: API calls nest).
std::unique_lock<std::recursive_mutex> lock();

// Innermost and outermost messages of the current HDF5 error stack, then clears it.
std::string take_error();

class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(o.id_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) { reset(); id_ = o.id_; o.id_ = -1; }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t id() const { return id_; }
  operator hid_t() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset();  // closes whatever kind of object it is (H5Iget_type)

 private:
  hid_t id_ = -1;
};

// Where errors are reported: the file path prefixes every message.
struct Ctx {
  std::string file;
  [[noreturn]] void fail(const std::string& what) const;        // RuntimeError with HDF5 message
  [[noreturn]] void bad_input(const std::string& what) const;   // InputError with HDF5 message
  hid_t check(hid_t id, const std::string& what) const { if (id < 0) fail(what); return id; }
};

// On-disk (and in-memory: we convert ourselves) HDF5 type for a DType.
hid_t type_of(DType t);
hid_t vlen_string_type();

// File-access list of a read-only driver that can read bytes past a stale end-of-allocation (a file
// killed inside H5Fflush); for salvage only (lenient_vfd.cpp). -1 if the driver cannot be registered.
hid_t lenient_read_fapl();

bool exists(hid_t loc, const std::string& path);  // every component of an absolute path

// Attributes (scalar). Strings are variable-length UTF-8, which h5py returns as str.
void set_attr(const Ctx& c, hid_t obj, const std::string& name, const std::string& value);
void set_attr(const Ctx& c, hid_t obj, const std::string& name, int64_t value);
std::string attr_str(const Ctx& c, hid_t obj, const std::string& name);
int64_t attr_i64(const Ctx& c, hid_t obj, const std::string& name);

struct DatasetOptions {
  int64_t chunk_rows = 1024;
  int gzip = 0;  // 0 = no filters; 1..9 = shuffle + deflate at that level
};

// Extendible, row-chunked dataset [0, width] (width 0 = 1-D) of `type`, intermediate groups created.
Handle create_rows(const Ctx& c, hid_t file, const std::string& path, DType type, int64_t width,
                   const DatasetOptions& o);
Handle create_strings(const Ctx& c, hid_t file, const std::string& path, int64_t chunk_rows);
Handle open_dataset(const Ctx& c, hid_t file, const std::string& path);

std::vector<int64_t> shape(const Ctx& c, hid_t ds);
void set_rows(const Ctx& c, hid_t ds, int64_t rows);  // H5Dset_extent on dim 0, other dims unchanged
// Rows [row0, row0+n) of a [rows] or [rows, width] dataset, raw in `type`.
void write_rows(const Ctx& c, hid_t ds, int64_t row0, int64_t n, DType type, const void* data);
void read_rows(const Ctx& c, hid_t ds, int64_t row0, int64_t n, DType type, void* out);
// The same with an explicit HDF5 memory type (e.g. the dataset's own type, for byte-exact copies).
void write_rows_as(const Ctx& c, hid_t ds, int64_t row0, int64_t n, hid_t mem_type, const void* data);
void read_rows_as(const Ctx& c, hid_t ds, int64_t row0, int64_t n, hid_t mem_type, void* out);
void write_strings(const Ctx& c, hid_t ds, int64_t row0, const std::vector<std::string>& s);
std::vector<std::string> read_strings(const Ctx& c, hid_t ds, int64_t row0, int64_t n);

}  // namespace ps::store::h5
