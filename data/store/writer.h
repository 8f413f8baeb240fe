#pragma once
// Append-only writer of the HDF5 activation store (layout: data/store/store.md).
//
//   StoreWriter w("out.h5", manifest, opts);      // creates, or resumes after w.committed_samples()
//   w.append(batch); ... w.commit();              // commit() is the crash-safe point
//   w.finish();                                   // commit + root attribute complete = 1
//
// Rows appended but not committed are invisible to readers and are dropped when the file is resumed.
// kill -9 at any moment is survived: resuming continues from the last durable commit (store.md).
// The set of activations, tables and whether syntax is present is fixed by the first batch.
#include <memory>
#include <string>
#include <vector>

#include "data/store/types.h"

namespace ps::store {

struct WriterOptions {
  enum class Mode {
    create,     // the file must not exist
    overwrite,  // replace any existing file
    resume,     // continue an existing store (refused if its manifest differs); create if absent
  };
  Mode mode = Mode::resume;
  int gzip = 0;                         // 0 = raw; 1..9 = shuffle + deflate at that level (activations only)
  int64_t chunk_bytes = int64_t(1) << 20;  // target chunk size of activation datasets (rows per chunk derived)
  // Manifest keys not compared on resume (they legitimately differ between runs).
  std::vector<std::string> ignore_on_resume = {key::created_at};
  // Keep the crash journal `<file>.commit` (store.md): per-commit row counts and XXH64 digests, and a
  // marker around every flush, so a resume after kill -9 at any moment recovers. false = no journal
  // (benchmarks only: a kill during commit can then leave a file that cannot be resumed).
  bool journal = true;
  // Fsync the journal on every update (power-loss durability of the journal itself; kill -9 safety
  // needs only the atomic rename). HDF5 does not fsync the store either.
  bool journal_fsync = false;
};

class StoreWriter {
 public:
  // Throws InputError for: existing file in create mode, a file that is not a store / corrupt,
  // or a manifest differing from the file's ("out.h5: manifest differs: field 'x' is 'a' here but 'b' in the file").
  StoreWriter(const std::string& path, const Manifest& manifest, const WriterOptions& opts = {});
  // Closes without committing: pending rows stay physically present but uncommitted.
  ~StoreWriter();
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  const std::string& path() const;
  bool resumed() const;                // opened an existing store
  int64_t committed_samples() const;   // the next snippet to extract after a resume
  int64_t pending_samples() const;     // appended since the last commit
  const Manifest& manifest() const;    // as stored in the file
  // "" normally; after a resume that had to rebuild the file (a run killed inside a commit), the
  // one-line account of what was kept, also printed on stderr.
  const std::string& recovery() const;

  // Validates and writes one batch (InputError naming the snippet/column on inconsistent sizes).
  void append(const SnippetBatch& batch);
  // Makes everything appended so far visible and durable: updates committed counters, flushes.
  void commit();
  // commit(), marks the file complete, closes it. The writer is unusable afterwards.
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ps::store
