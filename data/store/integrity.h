#pragma once
// Integrity of a finished store (store.md, "Checksums"): HDF5 does not checksum raw data, so a zeroed
// disk block reads back as zeros without a word. finish() keeps the XXH64 that the writer maintains of
// every dataset as the attributes `xxh64` / `xxh64_rows`; readers verify each dataset once, the first
// time they read it. Also the guards that keep untrusted sizes from costing memory before they are
// checked against what the file really holds. Callers hold h5::lock().
#include <optional>
#include <string>
#include <vector>

#include "data/store/h5.h"
#include "data/store/hash.h"
#include "models/util/error.h"

namespace ps::store {

// The store's bytes or structure are damaged (checksum mismatch, offsets backwards or past the end,
// sizes the file cannot hold). An InputError everywhere (exit 2); `probescope verify` reports it as a
// failed check (exit 1).
class CorruptStore : public InputError {
 public:
  using InputError::InputError;
};

inline constexpr const char* kAttrDigest = "xxh64";           // uint64 attribute, per dataset
inline constexpr const char* kAttrDigestRows = "xxh64_rows";  // int64: rows the digest covers; -1 = none yet

struct Digest {
  int64_t rows = -1;
  uint64_t value = 0;
};
// Every dataset is created with empty digest attributes (rows -1), so that finish() only rewrites them
// in place: adding attributes inside the final flush grows object headers, and a kill there can leave
// the root group unreadable (crash_test's finish sweep).
void add_digest_slots(const h5::Ctx& c, hid_t ds);
bool write_digest(const h5::Ctx& c, hid_t ds, const Digest& d);  // false: no slots (a dataset from an older build)
std::optional<Digest> read_digest(const h5::Ctx& c, hid_t ds, const std::string& path);  // nullopt if absent

// CorruptStore unless the file stores what rows [0, rows) of `ds` need: every chunk they touch is
// allocated (raw storage otherwise), and rows × row size does not overflow. A claimed size that the file
// cannot back is refused before anyone allocates for it. Cost: one walk of the chunk index (metadata).
void check_backed(const h5::Ctx& c, hid_t ds, const std::string& path, int64_t rows);

// Runs `read` (HDF5 reads of dataset `path`); any failure becomes CorruptStore naming the dataset: in a
// store opened read-only a read that fails (a filter that cannot decode a zeroed chunk, EIO) is damage.
template <class F>
void read_or_corrupt(const h5::Ctx& c, const std::string& path, F&& read) {
  try {
    read();
  } catch (const CorruptStore&) {
    throw;
  } catch (const Error& e) {
    std::string msg = e.what(), prefix = c.file + ": ";
    if (msg.rfind(prefix, 0) == 0) msg = msg.substr(prefix.size());
    throw CorruptStore(where(c.file, path + ": unreadable, data damaged (" + msg + ")"));
  }
}

// Slab-wise streaming of a dataset's rows in their stored encoding, for hashing and copying.
struct Slab {
  int64_t row0 = 0, rows = 0;
  bool strings = false;
  std::vector<uint8_t> bytes;     // raw rows in the dataset's own type (strings == false)
  std::vector<std::string> text;  // strings == true
  void hash_into(StreamHash& h) const;
};
void read_slab(const h5::Ctx& c, hid_t ds, int64_t row0, int64_t rows, Slab& out);
void write_slab(const h5::Ctx& c, hid_t ds, const Slab& s);  // grows ds as needed
int64_t slab_rows(const h5::Ctx& c, hid_t ds);                // rows per slab (a few MiB)

// One dataset's verification, done at most once per reader. A caller that reads every row in order
// feeds what it read (no extra I/O); any other first read calls verify(), which reads the rest.
class DatasetCheck {
 public:
  // Reads the digest of rows [0, rows). `enabled` = the store keeps checksums: then a missing digest or
  // one covering another row count is CorruptStore. Disabled (an older store): every call is a no-op.
  void arm(const h5::Ctx& c, hid_t ds, const std::string& path, int64_t rows, bool enabled);
  bool done() const { return done_; }
  int64_t hashed() const { return hashed_; }
  // Hashes the rows not yet fed and compares: CorruptStore on a mismatch, and again on every later call.
  void verify(const h5::Ctx& c, hid_t ds);
  void throw_if_failed() const;
  // Rows [row0, row1) just read; counted only if they continue the in-order stream.
  void feed(const h5::Ctx& c, const void* bytes, size_t n, int64_t row0, int64_t row1);
  void feed_strings(const h5::Ctx& c, const std::vector<std::string>& s, int64_t row0);

 private:
  void finish(const h5::Ctx& c);
  std::string path_;
  Digest want_;
  StreamHash hash_;
  int64_t hashed_ = 0;
  bool done_ = true;
  std::string failed_;  // the mismatch, once found: the data is never returned as good afterwards
};

}  // namespace ps::store
