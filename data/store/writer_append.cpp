// StoreWriter: batch validation, appending, commit and finish (the constructor lives in writer.cpp).
#include <algorithm>

#include "data/store/h5.h"
#include "data/store/layout.h"
#include "data/store/ragged.h"
#include "data/store/detail/writer_impl.h"
#include "models/util/error.h"

namespace ps::store {

namespace L = layout;

namespace {
std::string n2s(int64_t v) { return std::to_string(v); }

// Throws "file: snippet 'id' (#k of the batch): problem".
[[noreturn]] void bad(const std::string& file, const Snippet& s, size_t k, const std::string& problem) {
  throw InputError(where(file, "snippet '" + s.id + "' (#" + n2s(int64_t(k)) + " of the batch): " + problem));
}

void validate(const std::string& file, const Snippet& s, size_t k, bool syntax) {
  int64_t T = int64_t(s.input_ids.size()), W = int64_t(s.word_spans.size());
  if (int64_t(s.char_spans.size()) != T)
    bad(file, s, k, n2s(int64_t(s.char_spans.size())) + " char spans for " + n2s(T) + " tokens");
  if (int64_t(s.word_subwords.size()) != W)
    bad(file, s, k, n2s(int64_t(s.word_subwords.size())) + " subword ranges for " + n2s(W) + " words");
  for (int64_t w = 0; w < W; ++w) {
    const Span& r = s.word_subwords[size_t(w)];
    if (r.begin < 0 || r.end < r.begin || r.end > T)
      bad(file, s, k, "word " + n2s(w) + " has subword range [" + n2s(r.begin) + ", " + n2s(r.end) + ") outside [0, " +
                          n2s(T) + ")");
  }
  if (!syntax) {
    if (!s.syn_d.empty() || !s.syn_c.empty() || !s.syn_u.empty()) bad(file, s, k, "syntax labels in a batch without syntax");
    return;
  }
  int64_t n = std::max<int64_t>(W - 1, 0);
  if (int64_t(s.syn_d.size()) != n || int64_t(s.syn_c.size()) != n || int64_t(s.syn_u.size()) != W)
    bad(file, s, k, "syntax sizes |d|=" + n2s(int64_t(s.syn_d.size())) + " |c|=" + n2s(int64_t(s.syn_c.size())) +
                        " |u|=" + n2s(int64_t(s.syn_u.size())) + " for " + n2s(W) + " words (want W-1, W-1, W)");
}
}  // namespace

void StoreWriter::Impl::append_impl(const SnippetBatch& b) {
  for (size_t k = 0; k < b.snippets.size(); ++k) validate(ctx.file, b.snippets[k], k, schema.syntax);

  std::vector<int64_t> tcount, wcount, scount;
  Block input_ids(DType::i32, 0), char_spans(DType::i64, 2), word_spans(DType::i64, 2), subwords(DType::i64, 2);
  Block d(DType::i32, 0), c(DType::i32, 0), u(DType::i32, 0);
  std::vector<std::string> idv;
  for (const Snippet& s : b.snippets) {
    idv.push_back(s.id);
    tcount.push_back(int64_t(s.input_ids.size()));
    wcount.push_back(int64_t(s.word_spans.size()));
    scount.push_back(int64_t(s.syn_d.size()));
    input_ids.append(s.input_ids.data(), int64_t(s.input_ids.size()));
    // Span is two int64 fields with no padding: rows of [begin, end].
    static_assert(sizeof(Span) == 2 * sizeof(int64_t), "Span layout");
    char_spans.append(reinterpret_cast<const int64_t*>(s.char_spans.data()), int64_t(s.char_spans.size()));
    word_spans.append(reinterpret_cast<const int64_t*>(s.word_spans.data()), int64_t(s.word_spans.size()));
    subwords.append(reinterpret_cast<const int64_t*>(s.word_subwords.data()), int64_t(s.word_subwords.size()));
    if (schema.syntax) {
      d.append(s.syn_d.data(), int64_t(s.syn_d.size()));
      for (const auto& x : s.syn_c) { int32_t id = c_vocab.intern(x); c.append(&id, 1); }
      for (const auto& x : s.syn_u) { int32_t id = u_vocab.intern(x); u.append(&id, 1); }
    }
  }
  std::map<std::string, const Block*> tcols{{"input_ids", &input_ids}, {"char_spans", &char_spans}};
  std::map<std::string, const Block*> wcols{{"spans", &word_spans}, {"subword_spans", &subwords}};
  if (schema.syntax) wcols["u"] = &u;
  std::vector<Block> converted;  // keeps re-encoded activations alive
  converted.reserve(b.acts.size());
  for (const auto& [name, a] : b.acts) {
    const Block* p = &a.data;
    if (a.data.type != a.store) {
      converted.push_back(a.data.converted(a.store));
      p = &converted.back();
    }
    (a.rows == Rows::tokens ? tcols : wcols)["act:" + name] = p;
  }

  // Row counts are checked before anything is written, so a bad batch leaves the writer usable.
  int64_t T = input_ids.rows(), W = word_spans.rows();
  for (const auto& [name, a] : b.acts) {
    int64_t want = a.rows == Rows::tokens ? T : W;
    if (a.data.bytes.size() % a.data.row_bytes() != 0 || a.data.rows() != want)
      throw InputError(where(ctx.file, "activation '" + name + "' has " + n2s(a.data.rows()) + " rows, the batch has " +
                                           n2s(want) + " " + rows_name(a.rows)));
  }
  for (const auto& [t, tb] : b.tables) {
    int64_t want = 0;
    for (int64_t k : tb.counts) {
      if (k < 0) throw InputError(where(ctx.file, "table '" + t + "': negative row count"));
      want += k;
    }
    for (const auto& [cn, blk] : tb.columns)
      if (blk.bytes.size() % blk.row_bytes() != 0 || blk.rows() != want)
        throw InputError(where(ctx.file, "column " + t + "/" + cn + " has " + n2s(blk.rows()) +
                                             " rows, its counts sum to " + n2s(want)));
  }

  try {
    int64_t n = int64_t(b.snippets.size());
    h5::set_rows(ctx, ids, samples + n);
    h5::write_strings(ctx, ids, samples, idv);
    // Hashed even without a journal: finish() keeps the digests as the store's checksums.
    for (const auto& s : idv) ids_hash.update_string(s);
    tokens.append(ctx, tcount, tcols);
    words.append(ctx, wcount, wcols);
    if (schema.syntax) syntax.append(ctx, scount, {{"d", &d}, {"c", &c}});
    for (const auto& [t, tb] : b.tables) {
      std::map<std::string, const Block*> cols;
      for (const auto& [cn, blk] : tb.columns) cols[cn] = &blk;
      extras.at(t).append(ctx, tb.counts, cols);
    }
    samples += n;
  } catch (...) {
    broken = true;  // tables may now disagree with each other; only a resume can repair that
    throw;
  }
}

void StoreWriter::commit() {
  auto lk = h5::lock();
  Impl& m = *impl_;
  if (m.finished) throw RuntimeError(where(m.ctx.file, "commit after finish()"));
  if (m.broken) throw RuntimeError(where(m.ctx.file, "an earlier write failed; reopen the store to resume"));
  bool vocab_grew = false;
  for (Vocab* v : {&m.c_vocab, &m.u_vocab}) vocab_grew |= int64_t(v->items.size()) != v->committed;
  // Nothing new: no write at all (a finished store reopened to resume stays untouched).
  if (m.read_only || (m.samples == m.committed && !m.schema_dirty && !vocab_grew)) return;
  try {
    for (Vocab* v : {&m.c_vocab, &m.u_vocab}) {
      if (!m.schema.syntax || int64_t(v->items.size()) == v->committed) continue;
      h5::set_rows(m.ctx, v->ds, int64_t(v->items.size()));
      std::vector<std::string> fresh(v->items.begin() + v->committed, v->items.end());
      h5::write_strings(m.ctx, v->ds, v->committed, fresh);
      for (const auto& s : fresh) v->hash.update_string(s);
      v->committed = int64_t(v->items.size());
    }
    for (RaggedTable* t : m.tables()) t->mark_committed(m.ctx);
    if (m.schema_dirty) h5::set_attr(m.ctx, m.file, L::kAttrSchema, m.schema.to_json());
    if (m.samples != m.committed) h5::set_attr(m.ctx, m.file, L::kAttrComplete, int64_t(0));
    h5::set_attr(m.ctx, m.file, L::kAttrCommitted, m.samples);
    m.flush_guarded(m.journaled ? std::optional<CommitRecord>(m.record()) : std::nullopt);
  } catch (...) {
    m.broken = true;
    throw;
  }
  m.schema_dirty = false;
  m.committed = m.samples;
  m.complete = false;
}

void StoreWriter::finish() {
  auto lk = h5::lock();
  commit();
  Impl& m = *impl_;
  if (!m.read_only) {  // read_only: a finished store reopened and left untouched
    try {
      // The marker stays set through the close (closing may write metadata too); the journal is
      // removed only once the file is closed: a finished store has no journal.
      if (m.journaled) {
        m.journal.flushing = true;
        m.journal.pending.reset();
        m.save_journal_now();
      }
      m.write_checksums();  // in place (integrity.h), inside the marker like every write of the flush
      h5::set_attr(m.ctx, m.file, L::kAttrComplete, int64_t(1));
      if (H5Fflush(m.file, H5F_SCOPE_LOCAL) < 0) m.ctx.fail("flush");
      m.reset_file();
      if (m.journaled) remove_journal(m.ctx.file);
    } catch (...) {
      m.broken = true;
      throw;
    }
  }
  m.reset_file();
  m.journaled = false;
  m.finished = true;
}

}  // namespace ps::store
