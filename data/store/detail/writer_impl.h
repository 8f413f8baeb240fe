#pragma once
// Private state of StoreWriter, shared by writer.cpp (open/create), writer_append.cpp (append/commit),
// writer_journal.cpp (crash journal, resume decision) and salvage.cpp (rebuilding a damaged file).
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/store/h5.h"
#include "data/store/hash.h"
#include "data/store/integrity.h"
#include "data/store/journal.h"
#include "data/store/layout.h"
#include "data/store/ragged.h"
#include "data/store/writer.h"

namespace ps::store {

// A label vocabulary grown by interning; entries past `committed` are written at the next commit.
struct Vocab {
  std::vector<std::string> items;
  std::unordered_map<std::string, int32_t> index;
  int64_t committed = 0;
  h5::Handle ds;
  StreamHash hash;  // of the committed entries
  int32_t intern(const std::string& s) {
    auto [it, fresh] = index.emplace(s, int32_t(items.size()));
    if (fresh) items.push_back(s);
    return it->second;
  }
};

// "InputError: manifest differs: field ..." unless `given` equals `stored` outside `ignore`.
void check_manifest(const std::string& file, const Manifest& given, const Manifest& stored,
                    const std::vector<std::string>& ignore);
Manifest parse_manifest(const std::string& file, const std::string& json);

struct StoreWriter::Impl {
  h5::Ctx ctx;
  h5::Handle file;  // declared first: closed after every dataset handle below
  WriterOptions opts;
  Manifest manifest, given;  // as stored in the file / as passed by the caller
  bool resumed = false, finished = false, broken = false, schema_dirty = false;
  bool journaled = false;  // this writer maintains <file>.commit (opts.journal)
  bool read_only = false;  // a finished store without journal: opened read-only until the first append
  bool complete = false;   // root attribute complete as opened
  bool hashes_valid = false;  // the running hashes match the file (kept at finish() as its checksums)
  int64_t committed = 0, samples = 0;
  std::string uid, recovery;
  h5::Handle ids;
  StreamHash ids_hash;
  RaggedTable tokens{"tokens", layout::kTokenOffsets}, words{"words", layout::kWordOffsets}, syntax{"syntax", layout::kSyntaxOffsets};
  std::map<std::string, RaggedTable> extras;
  layout::Schema schema;
  Vocab c_vocab, u_vocab;
  Journal journal;

  // writer.cpp
  void create_file(const std::string& path, const Manifest& m);
  void open_file(const Manifest& m, bool writable = true);
  void open_schema_parts();
  void create_schema_parts(const layout::Schema& s);
  void create_new(const Manifest& m);  // create/overwrite: fresh file and journal
  void append_impl(const SnippetBatch& b);
  void reset_file();  // closes every dataset, then the file, and forgets the file's state

  // writer_journal.cpp
  void resume(const Manifest& m);  // Mode::resume on an existing file: fast path, adoption or salvage
  std::vector<RaggedTable*> tables();
  std::vector<Tracked> tracked();  // every dataset with the rows written so far and its running hash
  CommitRecord record();
  void hash_all();                 // rebuild every running hash by reading the committed rows
  void write_checksums();          // every dataset's digest as attributes (finish(); integrity.h)
  bool restore_hashes(const Journal& j);  // the fast path: hash states from the journal's last commit
  void start_journal();            // a fresh journal for the current committed state
  void save_journal_now();
  void flush_guarded(const std::optional<CommitRecord>& pending);  // marker, H5Fflush, journal update
  void close_guarded();            // marker, reset_file, marker cleared
  void make_writable();            // leave read_only on the first append

  // salvage.cpp: rebuilds the file from the newest verified commit of j (or from zero, with a warning).
  void salvage(const Journal& j);
};

}  // namespace ps::store
