#pragma once
// The store's one storage abstraction: a ragged (CSR) table = an offsets dataset [N+1] int64
// (offsets[i]..offsets[i+1] are snippet i's rows) plus column datasets [rows] or [rows, width],
// all extendible along rows (H5S_UNLIMITED) and chunked. Tokens, words, syntax, activations and
// the extra per-snippet tables are all instances. Callers hold h5::lock().
#include <map>
#include <string>
#include <vector>

#include "data/store/h5.h"
#include "data/store/hash.h"
#include "data/store/integrity.h"
#include "data/store/types.h"

namespace ps::store {

// One dataset as the crash journal sees it: its path, handle, row count (appended so far) and the
// running XXH64 of those rows (hash.h). Pointers stay valid while the owning table is unchanged.
struct Tracked {
  std::string path;
  hid_t ds = -1;
  int64_t rows = 0;
  StreamHash* hash = nullptr;
};

class RaggedTable {
 public:
  struct Column {
    std::string path;
    DType type = DType::f32;
    int64_t width = 0;
    h5::Handle ds;
    StreamHash hash;  // of the rows written so far (writer side)
    mutable DatasetCheck check;  // reader side: verified against the stored digest on first read
  };

  RaggedTable() = default;
  RaggedTable(std::string name, std::string offsets_path) : name_(std::move(name)), offsets_path_(std::move(offsets_path)) {}
  const std::string& name() const { return name_; }
  const std::string& offsets_path() const { return offsets_path_; }

  // Writer side.
  void create(const h5::Ctx& c, hid_t file);  // offsets = [0]
  void add_column(const h5::Ctx& c, hid_t file, const std::string& key, const std::string& path, DType type,
                  int64_t width, const h5::DatasetOptions& o);
  // Opens the offsets and drops any rows past `samples` (the uncommitted tail of an interrupted run).
  void open_truncate(const h5::Ctx& c, hid_t file, int64_t samples);
  // Opens an existing column (type from its dtype attribute, width from its shape) and truncates it to rows().
  void open_column(const h5::Ctx& c, hid_t file, const std::string& key, const std::string& path);
  // Appends counts.size() snippets; cols[key] must hold Σcounts rows of the column's type and width.
  void append(const h5::Ctx& c, const std::vector<int64_t>& counts, const std::map<std::string, const Block*>& cols);
  void mark_committed(const h5::Ctx& c);  // attribute committed_rows on the offsets dataset
  // The offsets ([samples+1] rows) and every column ([rows] rows), for the crash journal.
  void tracked(std::vector<Tracked>& out);

  // Reader side: loads offsets[0..samples] (validated: backed by the file, checksum when `checksums`,
  // starts at 0, non-decreasing, within every column). CorruptStore naming the dataset otherwise.
  void open_read(const h5::Ctx& c, hid_t file, int64_t samples, bool checksums);
  void open_column_read(const h5::Ctx& c, hid_t file, const std::string& key, const std::string& path);
  int64_t begin(int64_t i) const { return offsets_[size_t(i)]; }
  int64_t end(int64_t i) const { return offsets_[size_t(i) + 1]; }
  const std::vector<int64_t>& offsets() const { return offsets_; }
  // Rows [row0, row1) of a column, verified: the first read of a column hashes all of it, unless
  // `streaming` (the caller reads every row in order, so the rows it reads are hashed on the way).
  Block read(const h5::Ctx& c, const std::string& key, int64_t row0, int64_t row1, bool streaming = false) const;
  void verify(const h5::Ctx& c, const std::string& key) const;  // the whole column, once

  int64_t samples() const { return samples_; }
  int64_t rows() const { return rows_; }
  const std::map<std::string, Column>& columns() const { return cols_; }
  const Column& column(const h5::Ctx& c, const std::string& key) const;

 private:
  void open_column_impl(const h5::Ctx& c, hid_t file, const std::string& key, const std::string& path);
  std::string name_, offsets_path_;
  h5::Handle offsets_ds_;
  StreamHash offsets_hash_;
  std::map<std::string, Column> cols_;
  std::vector<int64_t> offsets_;  // reader only
  int64_t samples_ = 0, rows_ = 0;
  bool checksums_ = false;  // reader: the store keeps digests
};

}  // namespace ps::store
