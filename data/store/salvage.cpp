// Salvage: rebuilding a store whose last flush or close was interrupted (journal marker `flushing`) or
// whose state disagrees with its journal. The old file is only read; every dataset is copied into a
// fresh `<file>.partial` while its XXH64 is computed, the newest journalled commit whose every dataset
// hashes to the recorded digest is kept, and the copy is renamed over the old file.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "data/store/detail/writer_impl.h"
#include "models/util/error.h"

namespace ps::store {

namespace L = layout;

void StoreWriter::Impl::salvage(const Journal& j) {
  const std::string jpath = journal_path(ctx.file), tmp = ctx.file + ".partial";
  std::vector<CommitRecord> cands = j.commits;
  if (j.flushing && j.pending) cands.push_back(*j.pending);
  std::stable_sort(cands.begin(), cands.end(), [](const auto& a, const auto& b) { return a.samples < b.samples; });
  const int64_t durable = j.commits.back().samples;
  Manifest jm = parse_manifest(jpath, j.manifest_json);
  L::Schema js = L::Schema::from_json(jpath, j.schema_json);

  int chosen = -1;
  std::vector<std::map<std::string, StreamHash>> states(cands.size());
  std::string fresh_uid = new_uid();
  hid_t fapl = h5::lenient_read_fapl();
  h5::Handle old(H5Fopen(ctx.file.c_str(), H5F_ACC_RDONLY, fapl >= 0 ? fapl : H5P_DEFAULT));
  if (!old.valid()) h5::take_error();
  if (old.valid() && durable + (j.pending ? j.pending->samples : 0) > 0) {
    try {
      Impl fresh;
      fresh.ctx.file = tmp;
      fresh.opts = opts;
      fresh.opts.gzip = j.gzip;
      fresh.opts.chunk_bytes = j.chunk_bytes;
      fresh.uid = fresh_uid;
      fresh.create_file(tmp, jm);
      fresh.open_file(jm);
      if (!js.empty()) fresh.create_schema_parts(js);
      std::vector<Tracked> tr = fresh.tracked();
      std::vector<bool> ok(cands.size(), true);
      for (size_t i = 0; i < cands.size(); ++i) {
        // A commit with data must cover exactly the datasets the rebuilt file has.
        if (cands[i].samples == 0) ok[i] = false;  // nothing to keep: restarting is the same
        for (const Tracked& t : tr) ok[i] = ok[i] && cands[i].datasets.count(t.path);
        ok[i] = ok[i] && cands[i].datasets.size() == tr.size();
      }
      Slab s;
      for (const Tracked& t : tr) {
        h5::Handle src;
        try {
          src = h5::open_dataset(ctx, old, t.path);
        } catch (const Error&) {
          h5::take_error();
        }
        std::vector<std::pair<int64_t, size_t>> marks;  // (rows, candidate) in row order
        for (size_t i = 0; i < cands.size(); ++i)
          if (ok[i]) marks.push_back({cands[i].datasets.at(t.path).rows, i});
        std::sort(marks.begin(), marks.end());
        StreamHash h;
        int64_t done = 0;
        bool readable = src.valid();
        int64_t step = readable ? slab_rows(ctx, src) : 1;
        for (auto [rows, i] : marks) {
          while (readable && done < rows) {
            int64_t n = std::min(step, rows - done);
            try {
              read_slab(ctx, src, done, n, s);
            } catch (const Error&) {
              h5::take_error();
              readable = false;  // lost or damaged metadata: no later row of this dataset counts
              break;
            }
            s.hash_into(h);
            write_slab(fresh.ctx, t.ds, s);
            done += n;
          }
          // The digest is what makes a lost chunk index entry (rows read back as fill zeros) detectable.
          if (done != rows || h.digest() != cands[i].datasets.at(t.path).digest) ok[i] = false;
          else states[i][t.path] = h;
        }
      }
      for (size_t i = 0; i < cands.size(); ++i)
        if (ok[i]) chosen = int(i);
      if (chosen >= 0) {
        const CommitRecord& c = cands[size_t(chosen)];
        for (const Tracked& t : tr) h5::set_rows(fresh.ctx, t.ds, c.datasets.at(t.path).rows);
        for (RaggedTable* rt : fresh.tables()) {
          std::vector<Tracked> v;  // offsets first, then the columns
          rt->tracked(v);
          int64_t rows = v.size() > 1 ? c.datasets.at(v[1].path).rows : 0;
          h5::set_attr(fresh.ctx, v[0].ds, "committed_rows", rows);
        }
        h5::set_attr(fresh.ctx, fresh.file, L::kAttrSchema, js.to_json());
        h5::set_attr(fresh.ctx, fresh.file, L::kAttrCommitted, c.samples);
        if (H5Fflush(fresh.file, H5F_SCOPE_LOCAL) < 0) fresh.ctx.fail("flush");
      }
      fresh.reset_file();
    } catch (...) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw;
    }
  }
  old.reset();

  if (chosen < 0) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    recovery = durable == 0
                   ? where(ctx.file, "note: a run was killed while committing its first snippets; restarting from 0")
                   : where(ctx.file, "warning: a run was killed while committing and no journalled commit verifies; "
                                     "restarting from 0 (" + std::to_string(durable) + " committed snippets will be redone)");
    std::fprintf(stderr, "%s\n", recovery.c_str());
    bool keep = opts.journal;
    opts.journal = true;  // resume() drops the journal afterwards if the caller wants none
    create_new(jm);
    opts.journal = keep;
    reset_file();
    return;
  }
  const CommitRecord& c = cands[size_t(chosen)];
  std::error_code ec;
  std::filesystem::rename(tmp, ctx.file, ec);
  if (ec) throw RuntimeError(where(ctx.file, "cannot rename " + tmp + ": " + ec.message()));
  journal = Journal();
  journal.uid = fresh_uid;
  journal.gzip = j.gzip;
  journal.chunk_bytes = j.chunk_bytes;
  journal.manifest_json = j.manifest_json;
  journal.schema_json = j.schema_json;
  journal.commits.push_back(c);
  for (const auto& [p, h] : states[size_t(chosen)]) journal.states[p] = h.save();
  save_journal_now();
  recovery = where(ctx.file, "warning: a run was killed while committing; rebuilt the store from the newest commit "
                             "whose checksums verify: " + std::to_string(c.samples) + " snippets (" +
                             std::to_string(durable) + " were durably committed)");
  std::fprintf(stderr, "%s\n", recovery.c_str());
}

}  // namespace ps::store
