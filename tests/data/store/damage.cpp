#include "tests/data/store/damage.h"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <fstream>
#include <vector>

#include "data/store/integrity.h"
#include "data/store/layout.h"

namespace ps::store::testing {

namespace {
// Open file + dataset, closed in reverse order.
struct Open {
  hid_t f = -1, ds = -1;
  Open(const std::string& file, const std::string& dataset, bool rw = true) {
    f = H5Fopen(file.c_str(), rw ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT);
    EXPECT_GE(f, 0) << file;
    if (!dataset.empty()) {
      ds = H5Dopen2(f, dataset.c_str(), H5P_DEFAULT);
      EXPECT_GE(ds, 0) << dataset;
    }
  }
  ~Open() {
    if (ds >= 0) H5Dclose(ds);
    if (f >= 0) H5Fclose(f);
  }
};

herr_t collect(hid_t, const char* name, const H5O_info_t* info, void* data) {
  if (info->type == H5O_TYPE_DATASET) static_cast<std::vector<std::string>*>(data)->push_back(std::string("/") + name);
  return 0;
}
}  // namespace

void zero_bytes(const std::string& file, int64_t offset, int64_t n) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.good()) << file;
  f.seekp(std::streamoff(offset));
  std::string zeros(size_t(n), '\0');
  f.write(zeros.data(), std::streamsize(n));
}

ChunkAt chunk_at(const std::string& file, const std::string& dataset, int64_t row) {
  Open o(file, dataset, false);
  hid_t dcpl = H5Dget_create_plist(o.ds);
  hsize_t dims[2] = {0, 0};
  H5Pget_chunk(dcpl, 2, dims);
  H5Pclose(dcpl);
  hsize_t offset[2] = {hsize_t(row / int64_t(dims[0]) * int64_t(dims[0])), 0};
  unsigned mask = 0;
  haddr_t addr = 0;
  hsize_t size = 0;
  EXPECT_GE(H5Dget_chunk_info_by_coord(o.ds, offset, &mask, &addr, &size), 0);
  return {int64_t(addr), int64_t(size)};
}

void set_root_i64(const std::string& file, const std::string& attr, int64_t v) {
  Open o(file, "");
  hid_t a = H5Aopen(o.f, attr.c_str(), H5P_DEFAULT);
  EXPECT_GE(H5Awrite(a, H5T_NATIVE_INT64, &v), 0);
  H5Aclose(a);
}

namespace {
void rw_i64(const std::string& file, const std::string& dataset, int64_t row, int64_t* v, bool write) {
  Open o(file, dataset, write);
  hid_t fs = H5Dget_space(o.ds);
  hsize_t start = hsize_t(row), count = 1;
  H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, nullptr, &count, nullptr);
  hid_t ms = H5Screate_simple(1, &count, nullptr);
  herr_t rc = write ? H5Dwrite(o.ds, H5T_NATIVE_INT64, ms, fs, H5P_DEFAULT, v)
                    : H5Dread(o.ds, H5T_NATIVE_INT64, ms, fs, H5P_DEFAULT, v);
  EXPECT_GE(rc, 0) << dataset << "[" << row << "]";
  H5Sclose(ms);
  H5Sclose(fs);
}
}  // namespace

void set_i64(const std::string& file, const std::string& dataset, int64_t row, int64_t v) { rw_i64(file, dataset, row, &v, true); }

int64_t get_i64(const std::string& file, const std::string& dataset, int64_t row) {
  int64_t v = 0;
  rw_i64(file, dataset, row, &v, false);
  return v;
}

void set_extent(const std::string& file, const std::string& dataset, int64_t rows) {
  Open o(file, dataset);
  hid_t sp = H5Dget_space(o.ds);
  hsize_t dims[2] = {0, 0};
  H5Sget_simple_extent_dims(sp, dims, nullptr);
  H5Sclose(sp);
  dims[0] = hsize_t(rows);
  EXPECT_GE(H5Dset_extent(o.ds, dims), 0) << dataset;
}

void set_str_attr(const std::string& file, const std::string& dataset, const std::string& attr, const std::string& value) {
  Open o(file, dataset);
  if (H5Aexists(o.ds, attr.c_str()) > 0) EXPECT_GE(H5Adelete(o.ds, attr.c_str()), 0);
  hid_t st = H5Tcopy(H5T_C_S1);
  H5Tset_size(st, H5T_VARIABLE);
  hid_t as = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(o.ds, attr.c_str(), st, as, H5P_DEFAULT, H5P_DEFAULT);
  const char* text = value.c_str();
  EXPECT_GE(H5Awrite(a, st, &text), 0);
  H5Aclose(a);
  H5Sclose(as);
  H5Tclose(st);
}

void replace_wide(const std::string& file, const std::string& dataset, int64_t rows, int64_t width) {
  Open o(file, dataset);
  hid_t st = H5Tcopy(H5T_C_S1);
  H5Tset_size(st, H5T_VARIABLE);
  hid_t a = H5Aopen(o.ds, "dtype", H5P_DEFAULT);  // the reader wants the column's dtype attribute: keep it
  char* dtype = nullptr;
  EXPECT_GE(H5Aread(a, st, &dtype), 0);
  H5Aclose(a);
  hid_t t = H5Dget_type(o.ds);
  EXPECT_GE(H5Ldelete(o.f, dataset.c_str(), H5P_DEFAULT), 0);
  hsize_t dims[2] = {hsize_t(rows), hsize_t(width)}, maxd[2] = {H5S_UNLIMITED, hsize_t(width)}, chunk[2] = {1, 1024};
  hid_t sp = H5Screate_simple(2, dims, maxd);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 2, chunk);
  hid_t fresh = H5Dcreate2(o.f, dataset.c_str(), t, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  EXPECT_GE(fresh, 0) << dataset;
  hid_t as = H5Screate(H5S_SCALAR);
  a = H5Acreate2(fresh, "dtype", st, as, H5P_DEFAULT, H5P_DEFAULT);
  EXPECT_GE(H5Awrite(a, st, &dtype), 0);
  H5free_memory(dtype);
  H5Aclose(a);
  H5Sclose(as);
  H5Dclose(fresh);
  H5Pclose(dcpl);
  H5Sclose(sp);
  H5Tclose(t);
  H5Tclose(st);
}

void strip_checksums(const std::string& file) {
  Open o(file, "");
  std::vector<std::string> names;
  H5Ovisit(o.f, H5_INDEX_NAME, H5_ITER_INC, collect, &names);
  for (const auto& n : names) {
    hid_t ds = H5Dopen2(o.f, n.c_str(), H5P_DEFAULT);
    for (const char* a : {kAttrDigest, kAttrDigestRows})
      if (H5Aexists(ds, a) > 0) {
        EXPECT_GE(H5Adelete(ds, a), 0);
      }
    H5Dclose(ds);
  }
}

}  // namespace ps::store::testing
