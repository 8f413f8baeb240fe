#pragma once
// The side journal `<store>.commit` that makes a store survive kill -9 at any moment (store.md,
// "Commit protocol and crash safety"). HDF5 1.10 rewrites metadata in place during H5Fflush, so a kill
// inside the flush can leave a file that opens but is inconsistent. The journal records, per commit,
// the committed row count and XXH64 digest of every dataset, and a `flushing` marker that is set before
// every flush/close of the file and cleared after; a resume that finds the marker rebuilds the file from
// the newest journalled commit whose digests verify (salvage.cpp). Readers never need the journal.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ps::store {

struct DatasetMark {
  int64_t rows = 0;
  uint64_t digest = 0;  // XXH64 of rows [0, rows) as stored (strings: length-prefixed bytes)
  bool operator==(const DatasetMark& o) const { return rows == o.rows && digest == o.digest; }
};

struct CommitRecord {
  int64_t samples = 0;
  std::map<std::string, DatasetMark> datasets;  // by HDF5 path
};

struct Journal {
  std::string uid;        // equals the store's root attribute store_uid
  bool flushing = false;  // a flush or close of the file was in progress
  int gzip = 0;           // the store's options, for rebuilding it identically
  int64_t chunk_bytes = 0;
  std::string manifest_json, schema_json;
  std::vector<CommitRecord> commits;    // oldest first; back() is the last durable commit
  std::optional<CommitRecord> pending;  // the commit being flushed while `flushing`
  std::map<std::string, std::string> states;  // StreamHash::save() of every dataset at commits.back()

  // Appends a durable commit. Keeps the last few and thins older ones to a roughly geometric spacing,
  // so the journal stays small (≤ 16 commits) yet salvage can fall back far when recent rows are lost.
  void push(CommitRecord r);
  std::string to_json() const;
  static Journal parse(const std::string& file, const std::string& text);  // InputError if malformed
};

std::string journal_path(const std::string& store);  // store + ".commit"
// false if there is no journal; InputError if it exists but is malformed.
bool load_journal(const std::string& store, Journal& out);
// Atomic replace (temporary file + rename): a kill leaves the old or the new journal, never a mix.
// durable = also fsync (survives power loss, costs milliseconds per call).
void save_journal(const std::string& store, const Journal& j, bool durable);
void remove_journal(const std::string& store);
std::string new_uid();  // 128 random bits as hex
// True iff the store's journal exists, parses, belongs to the file with `uid` and marks a flush that
// never completed (what readers check; any problem with the journal itself means false).
bool journal_says_interrupted(const std::string& store, const std::string& uid);

}  // namespace ps::store
