#include "data/store/ragged.h"

#include "models/util/error.h"

namespace ps::store {

namespace {
constexpr int64_t kOffsetsChunk = 8192;  // 64 KiB of int64

std::string n2s(int64_t v) { return std::to_string(v); }
}  // namespace

void RaggedTable::create(const h5::Ctx& c, hid_t file) {
  h5::DatasetOptions o;
  o.chunk_rows = kOffsetsChunk;
  offsets_ds_ = h5::create_rows(c, file, offsets_path_, DType::i64, 0, o);
  h5::set_rows(c, offsets_ds_, 1);
  int64_t zero = 0;
  h5::write_rows(c, offsets_ds_, 0, 1, DType::i64, &zero);
  offsets_hash_ = StreamHash();
  offsets_hash_.update(&zero, sizeof zero);
  samples_ = rows_ = 0;
}

void RaggedTable::add_column(const h5::Ctx& c, hid_t file, const std::string& key, const std::string& path,
                             DType type, int64_t width, const h5::DatasetOptions& o) {
  if (rows_ != 0) throw RuntimeError(where(c.file, "column " + path + " added to table " + name_ + " after rows"));
  Column col;
  col.path = path;
  col.type = type;
  col.width = width;
  col.ds = h5::create_rows(c, file, path, type, width, o);
  h5::set_attr(c, col.ds, "offsets", offsets_path_);  // lets a reader find the CSR index of any column
  cols_[key] = std::move(col);
}

void RaggedTable::open_truncate(const h5::Ctx& c, hid_t file, int64_t samples) {
  offsets_ds_ = h5::open_dataset(c, file, offsets_path_);
  std::vector<int64_t> s = h5::shape(c, offsets_ds_);
  if (s.size() != 1 || s[0] < samples + 1)
    throw InputError(where(c.file, offsets_path_ + " has fewer than committed_samples+1 = " + n2s(samples + 1) +
                                       " entries (file corrupt)"));
  int64_t rows = 0;
  h5::read_rows(c, offsets_ds_, samples, 1, DType::i64, &rows);
  if (rows < 0) throw InputError(where(c.file, offsets_path_ + "[" + n2s(samples) + "] is negative"));
  h5::set_rows(c, offsets_ds_, samples + 1);
  samples_ = samples;
  rows_ = rows;
}

void RaggedTable::open_column_impl(const h5::Ctx& c, hid_t file, const std::string& key, const std::string& path) {
  Column col;
  col.path = path;
  col.ds = h5::open_dataset(c, file, path);
  const std::string dtype = h5::attr_str(c, col.ds, "dtype");
  try {
    col.type = parse_dtype(dtype);
  } catch (const InputError& e) {  // a damaged dtype attribute: say which file and column
    throw InputError(where(c.file, path + ": " + e.what()));
  }
  std::vector<int64_t> s = h5::shape(c, col.ds);
  if (s.empty() || s.size() > 2) throw InputError(where(c.file, path + " has rank " + n2s(int64_t(s.size()))));
  col.width = s.size() == 2 ? s[1] : 0;
  if (s[0] < rows_)
    throw CorruptStore(where(c.file, offsets_path_ + " points past the end of " + path + ": it indexes " + n2s(rows_) +
                                         " rows, the dataset has " + n2s(s[0]) + " (file corrupt)"));
  cols_[key] = std::move(col);
}

void RaggedTable::open_column(const h5::Ctx& c, hid_t file, const std::string& key, const std::string& path) {
  open_column_impl(c, file, key, path);
  h5::set_rows(c, cols_[key].ds, rows_);
}

void RaggedTable::append(const h5::Ctx& c, const std::vector<int64_t>& counts,
                         const std::map<std::string, const Block*>& cols) {
  std::vector<int64_t> offs(counts.size());
  int64_t total = rows_;
  for (size_t k = 0; k < counts.size(); ++k) {
    if (counts[k] < 0) throw InputError(where(c.file, "table " + name_ + ": negative row count"));
    total += counts[k];
    offs[k] = total;
  }
  int64_t n = total - rows_;
  if (cols.size() != cols_.size())
    throw InputError(where(c.file, "table " + name_ + ": batch has " + n2s(int64_t(cols.size())) +
                                       " columns, the store has " + n2s(int64_t(cols_.size()))));
  for (const auto& [key, col] : cols_) {
    auto it = cols.find(key);
    if (it == cols.end()) throw InputError(where(c.file, "table " + name_ + ": batch lacks column " + col.path));
    const Block& b = *it->second;
    if (b.type != col.type || b.width != col.width)
      throw InputError(where(c.file, col.path + ": batch column is " + dtype_name(b.type) + " x " + n2s(b.width) +
                                         ", the store has " + dtype_name(col.type) + " x " + n2s(col.width)));
    if (b.rows() != n)
      throw InputError(where(c.file, col.path + ": batch column has " + n2s(b.rows()) + " rows, counts sum to " +
                                         n2s(n)));
  }
  // Columns first, offsets last: rows only become reachable once indexed (and committed).
  for (auto& [key, col] : cols_) {
    const std::vector<uint8_t>& bytes = cols.at(key)->bytes;
    h5::set_rows(c, col.ds, total);
    h5::write_rows(c, col.ds, rows_, n, col.type, bytes.data());
    col.hash.update(bytes.data(), size_t(n) * cols.at(key)->row_bytes());
  }
  h5::set_rows(c, offsets_ds_, samples_ + int64_t(counts.size()) + 1);
  h5::write_rows(c, offsets_ds_, samples_ + 1, int64_t(counts.size()), DType::i64, offs.data());
  offsets_hash_.update(offs.data(), offs.size() * sizeof(int64_t));
  samples_ += int64_t(counts.size());
  rows_ = total;
}

void RaggedTable::mark_committed(const h5::Ctx& c) { h5::set_attr(c, offsets_ds_, "committed_rows", rows_); }

void RaggedTable::tracked(std::vector<Tracked>& out) {
  out.push_back({offsets_path_, offsets_ds_, samples_ + 1, &offsets_hash_});
  for (auto& [key, col] : cols_) out.push_back({col.path, col.ds, rows_, &col.hash});
}

void RaggedTable::open_read(const h5::Ctx& c, hid_t file, int64_t samples, bool checksums) {
  offsets_ds_ = h5::open_dataset(c, file, offsets_path_);
  std::vector<int64_t> s = h5::shape(c, offsets_ds_);
  if (s.size() != 1 || samples >= INT64_MAX || s[0] < samples + 1)
    throw CorruptStore(where(c.file, offsets_path_ + " has fewer than committed_samples+1 = " + n2s(samples + 1) +
                                         " entries (file corrupt)"));
  check_backed(c, offsets_ds_, offsets_path_, samples + 1);  // before allocating for the claimed count
  offsets_.assign(size_t(samples + 1), 0);
  read_or_corrupt(c, offsets_path_, [&] { h5::read_rows(c, offsets_ds_, 0, samples + 1, DType::i64, offsets_.data()); });
  DatasetCheck check;  // the checksum first: it names damage more precisely than the checks below
  check.arm(c, offsets_ds_, offsets_path_, samples + 1, checksums);
  check.feed(c, offsets_.data(), offsets_.size() * sizeof(int64_t), 0, samples + 1);
  if (offsets_[0] != 0) throw CorruptStore(where(c.file, offsets_path_ + "[0] is " + n2s(offsets_[0]) + ", not 0 (file corrupt)"));
  for (int64_t i = 0; i < samples; ++i)
    if (offsets_[size_t(i) + 1] < offsets_[size_t(i)])
      throw CorruptStore(where(c.file, offsets_path_ + " goes backwards at entry " + n2s(i + 1) + " (" +
                                           n2s(offsets_[size_t(i)]) + " then " + n2s(offsets_[size_t(i) + 1]) +
                                           "; file corrupt)"));
  samples_ = samples;
  rows_ = offsets_.back();
  checksums_ = checksums;
}

void RaggedTable::open_column_read(const h5::Ctx& c, hid_t file, const std::string& key, const std::string& path) {
  open_column_impl(c, file, key, path);
  Column& col = cols_[key];
  check_backed(c, col.ds, path, rows_);
  col.check.arm(c, col.ds, path, rows_, checksums_);
}

void RaggedTable::verify(const h5::Ctx& c, const std::string& key) const {
  const Column& col = column(c, key);
  col.check.verify(c, col.ds);
}

const RaggedTable::Column& RaggedTable::column(const h5::Ctx& c, const std::string& key) const {
  auto it = cols_.find(key);
  if (it == cols_.end()) throw InputError(where(c.file, "table " + name_ + " has no column " + key));
  return it->second;
}

Block RaggedTable::read(const h5::Ctx& c, const std::string& key, int64_t row0, int64_t row1, bool streaming) const {
  const Column& col = column(c, key);
  if (row0 < 0 || row1 < row0 || row1 > rows_)
    throw InputError(where(c.file, col.path + ": rows [" + n2s(row0) + ", " + n2s(row1) + ") outside the " +
                                       n2s(rows_) + " committed rows"));
  if (streaming && row0 == col.check.hashed())
    col.check.throw_if_failed();
  else
    col.check.verify(c, col.ds);
  Block b(col.type, col.width);
  b.bytes.resize(size_t(row1 - row0) * b.row_bytes());
  read_or_corrupt(c, col.path, [&] { h5::read_rows(c, col.ds, row0, row1 - row0, col.type, b.bytes.data()); });
  col.check.feed(c, b.bytes.data(), b.bytes.size(), row0, row1);
  return b;
}

}  // namespace ps::store
