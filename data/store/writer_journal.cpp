// StoreWriter's crash journal: which datasets it tracks, the flush marker around every flush and close,
// and the resume decision (fast path from the journal, adoption of a journal-less store, or salvage).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "data/store/detail/writer_impl.h"
#include "models/util/error.h"

namespace ps::store {

namespace L = layout;

namespace {
// What a read-only look at the file says, without trusting it.
struct Probe {
  bool opened = false, has_uid = false, complete = false;
  std::string uid;
  int64_t committed = -1;
};

Probe probe(const std::string& path) {
  // A file another process holds (a live writer: HDF5 takes an flock) must never be salvaged or
  // rebuilt; HDF5's own open would only say "unable to lock", indistinguishable from damage.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    bool busy = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    ::close(fd);  // releases our lock
    if (busy) throw RuntimeError(where(path, "in use by another process or handle (HDF5 file lock)"));
  }
  Probe p;
  h5::Ctx c{path};
  h5::Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!f.valid()) {
    h5::take_error();
    return p;
  }
  p.opened = true;
  try {
    if (H5Aexists(f, L::kAttrUid) > 0) {
      p.uid = h5::attr_str(c, f, L::kAttrUid);
      p.has_uid = true;
    }
    p.committed = h5::attr_i64(c, f, L::kAttrCommitted);
    p.complete = h5::attr_i64(c, f, L::kAttrComplete) != 0;
  } catch (const Error&) {
    h5::take_error();
  }
  return p;
}
}  // namespace

std::vector<RaggedTable*> StoreWriter::Impl::tables() {
  std::vector<RaggedTable*> v{&tokens, &words};
  if (schema.syntax) v.push_back(&syntax);
  for (auto& [t, rt] : extras) v.push_back(&rt);
  return v;
}

std::vector<Tracked> StoreWriter::Impl::tracked() {
  std::vector<Tracked> out;
  out.push_back({L::kIds, ids, samples, &ids_hash});
  for (RaggedTable* t : tables()) t->tracked(out);
  if (schema.syntax) {
    out.push_back({L::kCVocab, c_vocab.ds, c_vocab.committed, &c_vocab.hash});
    out.push_back({L::kUVocab, u_vocab.ds, u_vocab.committed, &u_vocab.hash});
  }
  return out;
}

CommitRecord StoreWriter::Impl::record() {
  CommitRecord r;
  r.samples = samples;
  for (const Tracked& t : tracked()) r.datasets[t.path] = DatasetMark{t.rows, t.hash->digest()};
  return r;
}

void StoreWriter::Impl::hash_all() {
  Slab s;
  for (const Tracked& t : tracked()) {
    *t.hash = StreamHash();
    int64_t step = slab_rows(ctx, t.ds);
    for (int64_t r = 0; r < t.rows; r += step) {
      read_slab(ctx, t.ds, r, std::min(step, t.rows - r), s);
      s.hash_into(*t.hash);
    }
  }
  hashes_valid = true;
}

void StoreWriter::Impl::write_checksums() {
  std::vector<Tracked> tr = tracked();
  // A store begun by an older build has no digest slots; adding them now would grow object headers
  // inside the final flush. It stays a store without checksums.
  for (const Tracked& t : tr)
    if (H5Aexists(t.ds, kAttrDigest) <= 0) return;
  if (!hashes_valid) hash_all();  // only without a journal after a resume: nothing seeded the hashes
  for (const Tracked& t : tr) write_digest(ctx, t.ds, Digest{t.rows, t.hash->digest()});
}

bool StoreWriter::Impl::restore_hashes(const Journal& j) {
  const CommitRecord& r = j.commits.back();
  std::vector<Tracked> tr = tracked();
  if (r.samples != samples || tr.size() != r.datasets.size()) return false;
  std::vector<StreamHash> states;
  for (const Tracked& t : tr) {
    auto it = r.datasets.find(t.path);
    auto st = j.states.find(t.path);
    if (it == r.datasets.end() || st == j.states.end() || it->second.rows != t.rows) return false;
    try {
      states.push_back(StreamHash::load(journal_path(ctx.file), st->second));
    } catch (const InputError&) {
      return false;
    }
    if (states.back().digest() != it->second.digest) return false;
  }
  for (size_t i = 0; i < tr.size(); ++i) *tr[i].hash = states[i];
  hashes_valid = true;
  return true;
}

void StoreWriter::Impl::save_journal_now() { save_journal(ctx.file, journal, opts.journal_fsync); }

void StoreWriter::Impl::start_journal() {
  journal = Journal();
  journal.uid = uid;
  journal.gzip = opts.gzip;
  journal.chunk_bytes = opts.chunk_bytes;
  nlohmann::json mj = nlohmann::json::object();
  for (const auto& [k, v] : manifest) mj[k] = v;
  journal.manifest_json = mj.dump();
  journal.schema_json = schema.to_json();
  journal.commits.push_back(record());
  for (const Tracked& t : tracked()) journal.states[t.path] = t.hash->save();
  save_journal_now();
  journaled = true;
}

void StoreWriter::Impl::flush_guarded(const std::optional<CommitRecord>& pending) {
  if (journaled) {
    journal.flushing = true;
    journal.pending = pending;
    journal.schema_json = schema.to_json();
    save_journal_now();
  }
  if (H5Fflush(file, H5F_SCOPE_LOCAL) < 0) ctx.fail("flush");
  if (!journaled) return;
  journal.flushing = false;
  journal.pending.reset();
  if (pending) {
    journal.push(*pending);
    for (const Tracked& t : tracked()) journal.states[t.path] = t.hash->save();
  }
  save_journal_now();
}

void StoreWriter::Impl::close_guarded() {
  if (!file.valid()) return;
  bool guard = journaled && !read_only;
  if (guard) {
    journal.flushing = true;
    journal.pending.reset();
    save_journal_now();
  }
  reset_file();
  if (guard) {
    journal.flushing = false;
    save_journal_now();
  }
}

void StoreWriter::Impl::make_writable() {
  reset_file();
  open_file(given, true);
  if (opts.journal) {
    hash_all();
    start_journal();
  }
}

void StoreWriter::Impl::resume(const Manifest& m) {
  given = m;
  Journal j;
  bool have = load_journal(ctx.file, j);
  Probe p = probe(ctx.file);
  if (have && p.has_uid && p.uid != j.uid) {  // the journal of another file that was here once
    have = false;
    remove_journal(ctx.file);
  }
  if (!have) {
    // No journal: a store from an older build, or a finished one. A finished store opens read-only
    // (nothing to hash, nothing written) until something is appended.
    if (p.complete) {
      try {
        open_file(m, false);
        read_only = true;
        return;
      } catch (const Error&) {
        reset_file();
      }
    }
    open_file(m);
    if (opts.journal) {
      hash_all();  // one read of the committed rows, so later commits are journalled
      start_journal();
    } else if (std::filesystem::exists(journal_path(ctx.file))) {
      remove_journal(ctx.file);
    }
    return;
  }
  check_manifest(ctx.file, m, parse_manifest(journal_path(ctx.file), j.manifest_json), opts.ignore_on_resume);
  bool trusted = false;
  if (!j.flushing && p.has_uid && p.committed == j.commits.back().samples) {
    // The last flush completed, so the file on disk is exactly as of the journal's last commit.
    try {
      open_file(m);
      trusted = restore_hashes(j);
    } catch (const Error&) {
      h5::take_error();
    }
    if (!trusted) reset_file();
  }
  if (!trusted) {
    salvage(j);  // replaces the file and writes its journal (this->journal)
    open_file(m);
    if (!restore_hashes(journal))
      throw RuntimeError(where(ctx.file, "rebuilt store does not match its new journal (bug)"));
  } else {
    journal = j;
  }
  journaled = true;
  if (!opts.journal) {
    journaled = false;
    remove_journal(ctx.file);
  }
}

}  // namespace ps::store
