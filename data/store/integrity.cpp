#include "data/store/integrity.h"

#include <algorithm>

namespace ps::store {

namespace {
std::string n2s(int64_t v) { return std::to_string(v); }

bool is_strings(const h5::Ctx& c, hid_t ds) {
  h5::Handle t(c.check(H5Dget_type(ds), "dataset type"));
  return H5Tis_variable_str(t) > 0;
}

size_t row_bytes(const h5::Ctx& c, hid_t ds, hid_t type) {
  std::vector<int64_t> s = h5::shape(c, ds);
  size_t rb = H5Tget_size(type);
  for (size_t i = 1; i < s.size(); ++i) rb *= size_t(s[i]);
  return rb;
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + n2s(s[i]);
  return out + "]";
}

// a * b, false on overflow past int64.
bool mul(int64_t a, int64_t b, int64_t& out) { return !__builtin_mul_overflow(a, b, &out); }
}  // namespace

void add_digest_slots(const h5::Ctx& c, hid_t ds) {
  h5::Handle space(c.check(H5Screate(H5S_SCALAR), "attribute " + std::string(kAttrDigest)));
  h5::Handle a(c.check(H5Acreate2(ds, kAttrDigest, H5T_STD_U64LE, space, H5P_DEFAULT, H5P_DEFAULT), "attribute xxh64"));
  uint64_t zero = 0;
  if (H5Awrite(a, H5T_NATIVE_UINT64, &zero) < 0) c.fail("attribute xxh64");
  h5::set_attr(c, ds, kAttrDigestRows, int64_t(-1));
}

bool write_digest(const h5::Ctx& c, hid_t ds, const Digest& d) {
  if (H5Aexists(ds, kAttrDigest) <= 0 || H5Aexists(ds, kAttrDigestRows) <= 0) return false;
  h5::Handle a(c.check(H5Aopen(ds, kAttrDigest, H5P_DEFAULT), "attribute xxh64"));
  if (H5Awrite(a, H5T_NATIVE_UINT64, &d.value) < 0) c.fail("attribute xxh64");
  h5::set_attr(c, ds, kAttrDigestRows, d.rows);  // an existing attribute: rewritten in place
  return true;
}

std::optional<Digest> read_digest(const h5::Ctx& c, hid_t ds, const std::string& path) {
  if (H5Aexists(ds, kAttrDigest) <= 0) return std::nullopt;
  Digest d;
  h5::Handle a(H5Aopen(ds, kAttrDigest, H5P_DEFAULT));
  h5::Handle t(a.valid() ? H5Aget_type(a) : -1);
  if (!t.valid() || H5Tget_class(t) != H5T_INTEGER || H5Tget_size(t) != 8 || H5Aread(a, H5T_NATIVE_UINT64, &d.value) < 0) {
    h5::take_error();
    throw CorruptStore(where(c.file, path + ": checksum attribute xxh64 unreadable (file damaged)"));
  }
  try {
    d.rows = h5::attr_i64(c, ds, kAttrDigestRows);
  } catch (const InputError&) {
    throw CorruptStore(where(c.file, path + ": checksum attribute xxh64_rows unreadable (file damaged)"));
  }
  return d;
}

void check_backed(const h5::Ctx& c, hid_t ds, const std::string& path, int64_t rows) {
  std::vector<int64_t> dims = h5::shape(c, ds);
  if (dims.empty()) throw CorruptStore(where(c.file, path + " is a scalar, not a table"));
  if (rows < 0 || dims[0] < rows)
    throw CorruptStore(where(c.file, path + " has " + n2s(dims[0]) + " rows but " + n2s(rows) + " are needed"));
  h5::Handle type(c.check(H5Dget_type(ds), "type of " + path));
  int64_t bytes = int64_t(H5Tget_size(type));
  bool ok = mul(bytes, rows, bytes);
  for (size_t i = 1; ok && i < dims.size(); ++i) ok = mul(bytes, dims[i], bytes);
  if (!ok || bytes > (int64_t(1) << 60))
    throw CorruptStore(where(c.file, path + ": shape " + shape_str(dims) + " overflows (file corrupt)"));
  if (rows == 0) return;
  h5::Handle dcpl(c.check(H5Dget_create_plist(ds), "layout of " + path));
  if (H5Pget_layout(dcpl) != H5D_CHUNKED) {
    if (int64_t(H5Dget_storage_size(ds)) < bytes)
      throw CorruptStore(where(c.file, path + ": claims " + n2s(rows) + " rows (" + n2s(bytes) + " bytes) but stores " +
                                           n2s(int64_t(H5Dget_storage_size(ds))) + " (file truncated or corrupt)"));
    return;
  }
  int rank = int(dims.size());
  std::vector<hsize_t> chunk(size_t(rank), 1);
  if (H5Pget_chunk(dcpl, rank, chunk.data()) != rank) c.bad_input("chunk shape of " + path);
  // Every row of a store is written, so every chunk under the committed rows must exist.
  int64_t need = 1;
  ok = true;
  for (int i = 0; ok && i < rank; ++i) {
    int64_t ext = i == 0 ? rows : dims[size_t(i)], ch = std::max<int64_t>(1, int64_t(chunk[size_t(i)]));
    ok = mul(need, (ext + ch - 1) / ch, need);
  }
  if (!ok) throw CorruptStore(where(c.file, path + ": shape " + shape_str(dims) + " overflows its chunk grid (file corrupt)"));
  h5::Handle space(c.check(H5Dget_space(ds), "dataspace of " + path));
  hsize_t have = 0;
  if (H5Dget_num_chunks(ds, space, &have) < 0) c.bad_input("chunk index of " + path);
  // The count covers the whole dataset; the chunk holding the last needed row must be there too.
  std::vector<hsize_t> last(size_t(rank), 0);
  last[0] = hsize_t((rows - 1) / int64_t(chunk[0]) * int64_t(chunk[0]));
  unsigned mask = 0;
  haddr_t addr = HADDR_UNDEF;
  hsize_t size = 0;
  if (H5Dget_chunk_info_by_coord(ds, last.data(), &mask, &addr, &size) < 0) {
    h5::take_error();
    size = 0;
  }
  if (int64_t(have) < need || size == 0)
    throw CorruptStore(where(c.file, path + ": claims " + n2s(rows) + " rows but the file holds " + n2s(int64_t(have)) +
                                         " of the " + n2s(need) + " chunks they need (file truncated or corrupt)"));
}

void Slab::hash_into(StreamHash& h) const {
  if (strings) {
    for (const auto& s : text) h.update_string(s);
  } else {
    h.update(bytes.data(), bytes.size());
  }
}

int64_t slab_rows(const h5::Ctx& c, hid_t ds) {
  if (is_strings(c, ds)) return int64_t(1) << 16;
  h5::Handle t(c.check(H5Dget_type(ds), "dataset type"));
  return std::max<int64_t>(1, int64_t((size_t(4) << 20) / std::max<size_t>(1, row_bytes(c, ds, t))));
}

void read_slab(const h5::Ctx& c, hid_t ds, int64_t row0, int64_t rows, Slab& out) {
  out.row0 = row0;
  out.rows = rows;
  out.strings = is_strings(c, ds);
  if (out.strings) {
    out.text = h5::read_strings(c, ds, row0, rows);
    return;
  }
  h5::Handle t(c.check(H5Dget_type(ds), "dataset type"));  // its own type: the stored bytes, unconverted
  out.bytes.resize(size_t(rows) * row_bytes(c, ds, t));
  h5::read_rows_as(c, ds, row0, rows, t, out.bytes.data());
}

void write_slab(const h5::Ctx& c, hid_t ds, const Slab& s) {
  if (h5::shape(c, ds).at(0) < s.row0 + s.rows) h5::set_rows(c, ds, s.row0 + s.rows);
  if (s.strings) return h5::write_strings(c, ds, s.row0, s.text);
  h5::Handle t(c.check(H5Dget_type(ds), "dataset type"));
  h5::write_rows_as(c, ds, s.row0, s.rows, t, s.bytes.data());
}

void DatasetCheck::arm(const h5::Ctx& c, hid_t ds, const std::string& path, int64_t rows, bool enabled) {
  path_ = path;
  hash_ = StreamHash();
  hashed_ = 0;
  done_ = true;
  if (!enabled) return;
  std::optional<Digest> d = read_digest(c, ds, path);
  if (!d || d->rows < 0) throw CorruptStore(where(c.file, path + ": no checksum, though the store keeps them (file damaged)"));
  if (d->rows != rows)
    throw CorruptStore(where(c.file, path + ": checksum covers " + n2s(d->rows) + " rows but the store has " + n2s(rows) +
                                         " (file damaged)"));
  want_ = *d;
  done_ = false;
  if (rows == 0) finish(c);
}

void DatasetCheck::throw_if_failed() const {
  if (!failed_.empty()) throw CorruptStore(failed_);
}

void DatasetCheck::verify(const h5::Ctx& c, hid_t ds) {
  throw_if_failed();
  if (done_) return;
  Slab s;
  int64_t step = slab_rows(c, ds);
  while (hashed_ < want_.rows) {
    int64_t n = std::min(step, want_.rows - hashed_);
    read_or_corrupt(c, path_, [&] { read_slab(c, ds, hashed_, n, s); });
    s.hash_into(hash_);
    hashed_ += n;
  }
  finish(c);
}

void DatasetCheck::feed(const h5::Ctx& c, const void* bytes, size_t n, int64_t row0, int64_t row1) {
  if (done_ || row0 != hashed_ || row1 <= row0) return;
  hash_.update(bytes, n);
  hashed_ = row1;
  if (hashed_ >= want_.rows) finish(c);
}

void DatasetCheck::feed_strings(const h5::Ctx& c, const std::vector<std::string>& s, int64_t row0) {
  if (done_ || row0 != hashed_ || s.empty()) return;
  for (const auto& x : s) hash_.update_string(x);
  hashed_ += int64_t(s.size());
  if (hashed_ >= want_.rows) finish(c);
}

void DatasetCheck::finish(const h5::Ctx& c) {
  done_ = true;
  uint64_t got = hash_.digest();
  if (hashed_ == want_.rows && got == want_.value) return;
  failed_ = where(c.file, path_ + ": checksum mismatch, data damaged (XXH64 of its " + n2s(hashed_) + " rows is " +
                              hex64(got) + ", the store recorded " + hex64(want_.value) + ")");
  throw CorruptStore(failed_);
}

}  // namespace ps::store
