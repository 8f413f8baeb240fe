#include "data/store/h5.h"

#include <algorithm>

#include "data/store/integrity.h"
#include "models/util/error.h"

namespace ps::store::h5 {

std::unique_lock<std::recursive_mutex> lock() {
  static std::recursive_mutex m;
  static std::once_flag quiet;
  std::unique_lock<std::recursive_mutex> l(m);
  // HDF5 prints its whole error stack to stderr by default; we report errors ourselves.
  std::call_once(quiet, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
  return l;
}

namespace {
herr_t walk_cb(unsigned n, const H5E_error2_t* e, void* data) {
  auto* msgs = static_cast<std::vector<std::string>*>(data);
  if (e->desc && *e->desc) msgs->push_back(e->desc);
  return 0;
}
}  // namespace

std::string take_error() {
  std::vector<std::string> msgs;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_cb, &msgs);  // innermost first
  H5Eclear2(H5E_DEFAULT);
  if (msgs.empty()) return "HDF5 error";
  if (msgs.size() == 1 || msgs.front() == msgs.back()) return msgs.front();
  return msgs.back() + " (" + msgs.front() + ")";
}

void Handle::reset() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: break;
  }
  id_ = -1;
}

void Ctx::fail(const std::string& what) const { throw RuntimeError(where(file, what + ": " + take_error())); }
void Ctx::bad_input(const std::string& what) const { throw InputError(where(file, what + ": " + take_error())); }

hid_t type_of(DType t) {
  static hid_t f16 = [] {
    // IEEE binary16 built the way h5py does, so numpy sees '<f2'.
    hid_t h = H5Tcopy(H5T_IEEE_F32LE);
    H5Tset_fields(h, 15, 10, 5, 0, 10);
    H5Tset_size(h, 2);
    H5Tset_ebias(h, 15);
    H5Tlock(h);
    return h;
  }();
  switch (t) {
    case DType::f32: return H5T_IEEE_F32LE;
    case DType::f16: return f16;
    case DType::bf16: return H5T_STD_U16LE;
    case DType::i32: return H5T_STD_I32LE;
    case DType::i64: return H5T_STD_I64LE;
  }
  return -1;
}

hid_t vlen_string_type() {
  static hid_t s = [] {
    hid_t h = H5Tcopy(H5T_C_S1);
    H5Tset_size(h, H5T_VARIABLE);
    H5Tset_cset(h, H5T_CSET_UTF8);
    H5Tlock(h);
    return h;
  }();
  return s;
}

bool exists(hid_t loc, const std::string& path) {
  // H5Lexists fails on a missing intermediate group, so test each prefix.
  size_t pos = 0;
  while (true) {
    pos = path.find('/', pos + 1);
    std::string prefix = path.substr(0, pos);
    if (!prefix.empty() && prefix != "/" && H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
    if (pos == std::string::npos) return true;
  }
}

void set_attr(const Ctx& c, hid_t obj, const std::string& name, const std::string& value) {
  hid_t type = vlen_string_type();
  if (H5Aexists(obj, name.c_str()) > 0 && H5Adelete(obj, name.c_str()) < 0) c.fail("attribute " + name);
  Handle space(c.check(H5Screate(H5S_SCALAR), "attribute " + name));
  Handle a(c.check(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), "attribute " + name));
  const char* p = value.c_str();
  if (H5Awrite(a, type, &p) < 0) c.fail("attribute " + name);
}

void set_attr(const Ctx& c, hid_t obj, const std::string& name, int64_t value) {
  Handle a;
  if (H5Aexists(obj, name.c_str()) > 0) {
    a = Handle(c.check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "attribute " + name));
  } else {
    Handle space(c.check(H5Screate(H5S_SCALAR), "attribute " + name));
    a = Handle(c.check(H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT),
                       "attribute " + name));
  }
  if (H5Awrite(a, H5T_NATIVE_INT64, &value) < 0) c.fail("attribute " + name);
}

std::string attr_str(const Ctx& c, hid_t obj, const std::string& name) {
  if (H5Aexists(obj, name.c_str()) <= 0) c.bad_input("attribute '" + name + "' missing");
  Handle a(c.check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "attribute " + name));
  Handle ft(c.check(H5Aget_type(a), "attribute " + name));
  if (H5Tget_class(ft) != H5T_STRING || H5Tis_variable_str(ft) <= 0)
    throw InputError(where(c.file, "attribute '" + name + "' is not a string"));
  char* p = nullptr;
  if (H5Aread(a, vlen_string_type(), &p) < 0) c.bad_input("attribute " + name);
  std::string s = p ? p : "";
  H5free_memory(p);
  return s;
}

int64_t attr_i64(const Ctx& c, hid_t obj, const std::string& name) {
  if (H5Aexists(obj, name.c_str()) <= 0) c.bad_input("attribute '" + name + "' missing");
  Handle a(c.check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "attribute " + name));
  Handle ft(c.check(H5Aget_type(a), "attribute " + name));
  if (H5Tget_class(ft) != H5T_INTEGER) throw InputError(where(c.file, "attribute '" + name + "' is not an integer"));
  int64_t v = 0;
  if (H5Aread(a, H5T_NATIVE_INT64, &v) < 0) c.bad_input("attribute " + name);
  return v;
}

namespace {
Handle make_lcpl(const Ctx& c) {
  Handle lcpl(c.check(H5Pcreate(H5P_LINK_CREATE), "property list"));
  H5Pset_create_intermediate_group(lcpl, 1);
  return lcpl;
}

Handle make_dapl(const Ctx& c, size_t chunk_bytes) {
  // Keep a few chunks cached so appending batches smaller than a chunk does not re-read
  // (or, with gzip, re-decompress) the partly filled last chunk on every write.
  Handle dapl(c.check(H5Pcreate(H5P_DATASET_ACCESS), "property list"));
  H5Pset_chunk_cache(dapl, 521, std::max<size_t>(size_t(1) << 20, 4 * chunk_bytes), 1.0);
  return dapl;
}

Handle create_impl(const Ctx& c, hid_t file, const std::string& path, hid_t type, size_t elem,
                   int64_t width, const DatasetOptions& o) {
  int rank = width > 0 ? 2 : 1;
  hsize_t dims[2] = {0, hsize_t(width)}, maxd[2] = {H5S_UNLIMITED, hsize_t(width)};
  hsize_t chunk[2] = {hsize_t(std::max<int64_t>(1, o.chunk_rows)), hsize_t(width)};
  Handle space(c.check(H5Screate_simple(rank, dims, maxd), "dataspace " + path));
  Handle dcpl(c.check(H5Pcreate(H5P_DATASET_CREATE), "property list"));
  if (H5Pset_chunk(dcpl, rank, chunk) < 0) c.fail("chunking " + path);
  // Every row is written, so skip the fill pass (HDF5 requires fill values for variable-length strings).
  if (H5Tis_variable_str(type) <= 0) H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
  if (o.gzip > 0) {
    H5Pset_shuffle(dcpl);
    H5Pset_deflate(dcpl, unsigned(std::min(o.gzip, 9)));
  }
  size_t chunk_bytes = size_t(chunk[0]) * elem * size_t(std::max<int64_t>(width, 1));
  Handle lcpl = make_lcpl(c);
  Handle dapl = make_dapl(c, chunk_bytes);
  Handle ds(c.check(H5Dcreate2(file, path.c_str(), type, space, lcpl, dcpl, dapl), "create " + path));
  add_digest_slots(c, ds);  // every store dataset, from its creation (integrity.h says why)
  return ds;
}
}  // namespace

Handle create_rows(const Ctx& c, hid_t file, const std::string& path, DType type, int64_t width,
                   const DatasetOptions& o) {
  Handle ds = create_impl(c, file, path, type_of(type), dtype_size(type), width, o);
  set_attr(c, ds, "dtype", std::string(dtype_name(type)));
  return ds;
}

Handle create_strings(const Ctx& c, hid_t file, const std::string& path, int64_t chunk_rows) {
  DatasetOptions o;
  o.chunk_rows = chunk_rows;
  return create_impl(c, file, path, vlen_string_type(), sizeof(char*), 0, o);
}

Handle open_dataset(const Ctx& c, hid_t file, const std::string& path) {
  if (!exists(file, path)) throw InputError(where(c.file, "dataset " + path + " missing"));
  Handle probe(c.check(H5Dopen2(file, path.c_str(), H5P_DEFAULT), "open " + path));
  // Reopen with a chunk cache sized to this dataset's chunks.
  size_t chunk_bytes = 0;
  {
    Handle dcpl(c.check(H5Dget_create_plist(probe), "open " + path));
    Handle type(c.check(H5Dget_type(probe), "open " + path));
    hsize_t chunk[2] = {1, 1};
    int r = H5Pget_layout(dcpl) == H5D_CHUNKED ? H5Pget_chunk(dcpl, 2, chunk) : 0;
    chunk_bytes = H5Tget_size(type) * size_t(chunk[0]) * size_t(r > 1 ? chunk[1] : 1);
  }
  Handle dapl = make_dapl(c, chunk_bytes);
  return Handle(c.check(H5Dopen2(file, path.c_str(), dapl), "open " + path));
}

std::vector<int64_t> shape(const Ctx& c, hid_t ds) {
  Handle space(c.check(H5Dget_space(ds), "dataspace"));
  int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0 || rank > 8) c.bad_input("dataspace rank");
  hsize_t dims[8];
  H5Sget_simple_extent_dims(space, dims, nullptr);
  return std::vector<int64_t>(dims, dims + rank);
}

void set_rows(const Ctx& c, hid_t ds, int64_t rows) {
  std::vector<int64_t> s = shape(c, ds);
  if (s.at(0) == rows) return;  // no metadata change; also lets read-only opens pass through
  std::vector<hsize_t> dims(s.begin(), s.end());
  dims[0] = hsize_t(rows);
  if (H5Dset_extent(ds, dims.data()) < 0) c.fail("resize to " + std::to_string(rows) + " rows");
}

namespace {
// File and memory dataspaces selecting rows [row0, row0+n) of ds.
std::pair<Handle, Handle> select_rows(const Ctx& c, hid_t ds, int64_t row0, int64_t n) {
  Handle fspace(c.check(H5Dget_space(ds), "dataspace"));
  int rank = H5Sget_simple_extent_ndims(fspace);
  hsize_t dims[8];
  H5Sget_simple_extent_dims(fspace, dims, nullptr);
  if (row0 < 0 || n < 0 || hsize_t(row0 + n) > dims[0])
    throw InputError(where(c.file, "rows [" + std::to_string(row0) + ", " + std::to_string(row0 + n) +
                                       ") outside a dataset of " + std::to_string(dims[0]) + " rows"));
  hsize_t start[8] = {0}, count[8];
  start[0] = hsize_t(row0);
  count[0] = hsize_t(n);
  for (int i = 1; i < rank; ++i) count[i] = dims[i];
  if (H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, nullptr, count, nullptr) < 0) c.fail("select rows");
  Handle mspace(c.check(H5Screate_simple(rank, count, nullptr), "dataspace"));
  return {std::move(fspace), std::move(mspace)};
}
}  // namespace

void write_rows_as(const Ctx& c, hid_t ds, int64_t row0, int64_t n, hid_t mem_type, const void* data) {
  if (n == 0) return;
  auto [fs, ms] = select_rows(c, ds, row0, n);
  if (H5Dwrite(ds, mem_type, ms, fs, H5P_DEFAULT, data) < 0) c.fail("write rows");
}

void read_rows_as(const Ctx& c, hid_t ds, int64_t row0, int64_t n, hid_t mem_type, void* out) {
  if (n == 0) return;
  auto [fs, ms] = select_rows(c, ds, row0, n);
  if (H5Dread(ds, mem_type, ms, fs, H5P_DEFAULT, out) < 0) c.bad_input("read rows");
}

void write_rows(const Ctx& c, hid_t ds, int64_t row0, int64_t n, DType type, const void* data) {
  write_rows_as(c, ds, row0, n, type_of(type), data);
}

void read_rows(const Ctx& c, hid_t ds, int64_t row0, int64_t n, DType type, void* out) {
  read_rows_as(c, ds, row0, n, type_of(type), out);
}

void write_strings(const Ctx& c, hid_t ds, int64_t row0, const std::vector<std::string>& s) {
  if (s.empty()) return;
  std::vector<const char*> p;
  for (const auto& x : s) p.push_back(x.c_str());
  auto [fs, ms] = select_rows(c, ds, row0, int64_t(s.size()));
  if (H5Dwrite(ds, vlen_string_type(), ms, fs, H5P_DEFAULT, p.data()) < 0) c.fail("write strings");
}

std::vector<std::string> read_strings(const Ctx& c, hid_t ds, int64_t row0, int64_t n) {
  if (n == 0) return {};
  auto [fs, ms] = select_rows(c, ds, row0, n);
  std::vector<char*> p(size_t(n), nullptr);
  if (H5Dread(ds, vlen_string_type(), ms, fs, H5P_DEFAULT, p.data()) < 0) c.bad_input("read strings");
  std::vector<std::string> out;
  for (char* x : p) out.emplace_back(x ? x : "");
  H5Dvlen_reclaim(vlen_string_type(), ms, H5P_DEFAULT, p.data());
  return out;
}

}  // namespace ps::store::h5
