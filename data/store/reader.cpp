#include "data/store/reader.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "data/store/journal.h"
#include "data/store/detail/reader_impl.h"

namespace ps::store {

namespace {
template <class T>
std::vector<T> vec_of(const Block& b) {
  std::vector<T> v(b.bytes.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), b.bytes.data(), b.bytes.size());
  return v;
}

Matrix to_matrix(const Block& b) {
  Matrix m;
  m.rows = b.rows();
  m.cols = std::max<int64_t>(b.width, 1);
  m.data = b.to_floats();
  return m;
}
}  // namespace

StoreReader::StoreReader(const std::string& path) : impl_(std::make_unique<Impl>()) {
  auto lk = h5::lock();
  Impl& m = *impl_;
  m.ctx.file = path;
  if (!std::filesystem::exists(path))
    throw InputError(where(path, "no such file"));
  m.file = h5::Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!m.file.valid()) m.ctx.bad_input("not an HDF5 file or corrupt");
  if (H5Aexists(m.file, L::kAttrFormat) <= 0 || h5::attr_str(m.ctx, m.file, L::kAttrFormat) != L::kFormat)
    throw InputError(where(path, "not a probescope store (root attribute format missing)"));
  int64_t version = h5::attr_i64(m.ctx, m.file, L::kAttrVersion);
  if (version != L::kFormatVersion)
    throw InputError(where(path, "store format version " + std::to_string(version) + " (this build reads " +
                                     std::to_string(L::kFormatVersion) + ")"));
  try {
    nlohmann::json mj = nlohmann::json::parse(h5::attr_str(m.ctx, m.file, L::kAttrManifest));  // named: items() would dangle on a temporary
    for (const auto& [k, v] : mj.items())
      m.manifest[k] = v.get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(where(path, std::string("attribute manifest_json malformed: ") + e.what()));
  }
  // The reader never needs the crash journal, but when it says a writer of *this* file (same store_uid)
  // died inside a flush, the file may be inconsistent in ways HDF5 cannot see (rows reading back as
  // zeros): refuse rather than return wrong data. Resuming the writer repairs it.
  if (H5Aexists(m.file, L::kAttrUid) > 0 && journal_says_interrupted(path, h5::attr_str(m.ctx, m.file, L::kAttrUid)))
    throw InputError(where(path, "its writer was killed while committing (" + journal_path(path) +
                                     " says so); resume the writer to recover the store before reading it"));
  m.complete = h5::attr_i64(m.ctx, m.file, L::kAttrComplete) != 0;
  m.n = h5::attr_i64(m.ctx, m.file, L::kAttrCommitted);
  if (m.n < 0) throw CorruptStore(where(path, "committed_samples is negative"));
  m.schema = L::Schema::from_json(path, h5::attr_str(m.ctx, m.file, L::kAttrSchema));
  m.ids = h5::open_dataset(m.ctx, m.file, L::kIds);
  // Digests are written by finish() and describe the finished store only (an append after reopening
  // clears `complete`); /samples/ids having one says the store keeps them. Stores from older builds
  // have none and are read unverified.
  if (m.complete) {
    std::optional<Digest> d = read_digest(m.ctx, m.ids, L::kIds);
    m.checksums = d && d->rows >= 0;
  }
  if (h5::shape(m.ctx, m.ids).at(0) < m.n)
    throw CorruptStore(where(path, "committed_samples is " + std::to_string(m.n) + " but " + L::kIds + " has only " +
                                       std::to_string(h5::shape(m.ctx, m.ids).at(0)) + " rows (file corrupt)"));
  check_backed(m.ctx, m.ids, L::kIds, m.n);
  m.ids_check.arm(m.ctx, m.ids, L::kIds, m.n, m.checksums);
  m.tokens.open_read(m.ctx, m.file, m.n, m.checksums);
  m.tokens.open_column_read(m.ctx, m.file, "input_ids", L::kInputIds);
  m.tokens.open_column_read(m.ctx, m.file, "char_spans", L::kCharSpans);
  m.words.open_read(m.ctx, m.file, m.n, m.checksums);
  m.words.open_column_read(m.ctx, m.file, "spans", L::kWordSpans);
  m.words.open_column_read(m.ctx, m.file, "subword_spans", L::kSubwordSpans);
  for (const auto& [name, a] : m.schema.acts)
    (a.rows == Rows::tokens ? m.tokens : m.words).open_column_read(m.ctx, m.file, "act:" + name, L::act_path(name));
  if (m.schema.syntax) {
    m.words.open_column_read(m.ctx, m.file, "u", L::kSyntaxU);
    m.syntax.open_read(m.ctx, m.file, m.n, m.checksums);
    m.syntax.open_column_read(m.ctx, m.file, "d", L::kSyntaxD);
    m.syntax.open_column_read(m.ctx, m.file, "c", L::kSyntaxC);
    for (auto [v, p] : {std::pair{&m.c_vocab, L::kCVocab}, std::pair{&m.u_vocab, L::kUVocab}}) {
      h5::Handle ds = h5::open_dataset(m.ctx, m.file, p);
      int64_t rows = h5::shape(m.ctx, ds).at(0);
      check_backed(m.ctx, ds, p, rows);
      // v by init-capture: clang rejects capturing a structured binding in C++17 (GCC accepts it).
      read_or_corrupt(m.ctx, p, [&, v = v] { *v = h5::read_strings(m.ctx, ds, 0, rows); });
      DatasetCheck check;
      check.arm(m.ctx, ds, p, rows, m.checksums);
      check.feed_strings(m.ctx, *v, 0);
    }
  }
  for (const auto& [t, cols] : m.schema.tables) {
    RaggedTable& rt = m.extras[t] = RaggedTable(t, L::table_offsets_path(t));
    rt.open_read(m.ctx, m.file, m.n, m.checksums);
    for (const auto& [c, col] : cols) rt.open_column_read(m.ctx, m.file, c, L::table_column_path(t, c));
  }
  m.check_schema();
}

StoreReader::~StoreReader() {
  auto lk = h5::lock();
  impl_.reset();
}

const std::string& StoreReader::path() const { return impl_->ctx.file; }
const Manifest& StoreReader::manifest() const { return impl_->manifest; }
bool StoreReader::complete() const { return impl_->complete; }
bool StoreReader::has_checksums() const { return impl_->checksums; }
int64_t StoreReader::num_samples() const { return impl_->n; }
int64_t StoreReader::num_tokens() const { return impl_->tokens.rows(); }
int64_t StoreReader::num_words() const { return impl_->words.rows(); }
const std::vector<int64_t>& StoreReader::token_offsets() const { return impl_->tokens.offsets(); }
const std::vector<int64_t>& StoreReader::word_offsets() const { return impl_->words.offsets(); }

std::string StoreReader::id(int64_t i) const { return ids(i, i + 1).at(0); }

std::vector<std::string> StoreReader::ids(int64_t begin, int64_t end) const {
  auto lk = h5::lock();
  if (begin < 0 || end < begin || end > impl_->n)
    throw InputError(where(impl_->ctx.file, "sample range [" + std::to_string(begin) + ", " + std::to_string(end) +
                                                ") outside " + std::to_string(impl_->n) + " committed samples"));
  impl_->ids_check.verify(impl_->ctx, impl_->ids);
  std::vector<std::string> out;
  read_or_corrupt(impl_->ctx, L::kIds, [&] { out = h5::read_strings(impl_->ctx, impl_->ids, begin, end - begin); });
  return out;
}

Span StoreReader::token_range(int64_t i) const {
  impl_->check_sample(i);
  return {impl_->tokens.begin(i), impl_->tokens.end(i)};
}
Span StoreReader::word_range(int64_t i) const {
  impl_->check_sample(i);
  return {impl_->words.begin(i), impl_->words.end(i)};
}

TokenData StoreReader::tokens(int64_t i) const {
  auto lk = h5::lock();
  Span r = token_range(i);
  TokenData t;
  t.input_ids = vec_of<int32_t>(impl_->tokens.read(impl_->ctx, "input_ids", r.begin, r.end));
  t.char_spans = vec_of<Span>(impl_->tokens.read(impl_->ctx, "char_spans", r.begin, r.end));
  return t;
}

WordData StoreReader::words(int64_t i) const {
  auto lk = h5::lock();
  Span r = word_range(i);
  WordData w;
  w.spans = vec_of<Span>(impl_->words.read(impl_->ctx, "spans", r.begin, r.end));
  w.subwords = vec_of<Span>(impl_->words.read(impl_->ctx, "subword_spans", r.begin, r.end));
  return w;
}

std::vector<std::string> StoreReader::act_names() const {
  std::vector<std::string> out;
  for (const auto& kv : impl_->schema.acts) out.push_back(kv.first);
  return out;
}
bool StoreReader::has_act(const std::string& name) const { return impl_->schema.acts.count(name) > 0; }

ActInfo StoreReader::act_info(const std::string& name) const {
  impl_->act_table(name);  // throws if unknown
  const auto& a = impl_->schema.acts.at(name);
  return {a.rows, {a.col.type, a.col.width}};
}

std::vector<int> StoreReader::layers(Rows r) const {
  std::vector<int> out;
  std::string prefix = std::string(rows_name(r)) + "/layer_";
  for (const auto& [name, a] : impl_->schema.acts) {
    if (a.rows != r || name.rfind(prefix, 0) != 0) continue;
    std::string rest = name.substr(prefix.size());
    // At most 9 digits: a name from the file must not overflow stoi.
    if (!rest.empty() && rest.size() <= 9 && rest.find_first_not_of("0123456789") == std::string::npos)
      out.push_back(std::stoi(rest));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Block StoreReader::acts_raw(const std::string& name, int64_t row_begin, int64_t row_end) const {
  auto lk = h5::lock();
  return impl_->act_table(name).read(impl_->ctx, "act:" + name, row_begin, row_end);
}

Matrix StoreReader::acts_rows(const std::string& name, int64_t row_begin, int64_t row_end) const {
  return to_matrix(acts_raw(name, row_begin, row_end));
}

Matrix StoreReader::acts(const std::string& name, int64_t i) const {
  impl_->check_sample(i);
  const RaggedTable& t = impl_->act_table(name);
  return acts_rows(name, t.begin(i), t.end(i));
}

Matrix StoreReader::load_act(const std::string& name) const {
  const RaggedTable& t = impl_->act_table(name);
  ActInfo info = act_info(name);
  Matrix m;
  m.rows = t.rows();
  m.cols = std::max<int64_t>(info.col.width, 1);
  m.data.resize(size_t(m.rows * m.cols));  // sizes checked against the file when it was opened
  // Slabs of ~32 MiB stored bytes: few HDF5 calls, bounded temporary memory. Read in order from row 0,
  // so the checksum is computed on the way (streaming) instead of by a second pass.
  int64_t slab = std::max<int64_t>(1, (int64_t(32) << 20) / (m.cols * int64_t(dtype_size(info.col.dtype))));
  for (int64_t r = 0; r < m.rows; r += slab) {
    int64_t e = std::min(m.rows, r + slab);
    std::vector<float> f;
    {
      auto lk = h5::lock();
      f = t.read(impl_->ctx, "act:" + name, r, e, /*streaming=*/true).to_floats();
    }
    std::copy(f.begin(), f.end(), m.data.begin() + r * m.cols);
  }
  if (m.rows == 0) {
    auto lk = h5::lock();
    t.verify(impl_->ctx, "act:" + name);
  }
  return m;
}

bool StoreReader::has_syntax() const { return impl_->schema.syntax; }
const std::vector<std::string>& StoreReader::c_vocab() const { return impl_->c_vocab; }
const std::vector<std::string>& StoreReader::u_vocab() const { return impl_->u_vocab; }

SyntaxData StoreReader::syntax(int64_t i) const {
  auto lk = h5::lock();
  Impl& m = *impl_;
  if (!m.schema.syntax) throw InputError(where(m.ctx.file, "store has no syntax labels"));
  m.check_sample(i);
  SyntaxData s;
  s.d = vec_of<int32_t>(m.syntax.read(m.ctx, "d", m.syntax.begin(i), m.syntax.end(i)));
  s.c = vec_of<int32_t>(m.syntax.read(m.ctx, "c", m.syntax.begin(i), m.syntax.end(i)));
  s.u = vec_of<int32_t>(m.words.read(m.ctx, "u", m.words.begin(i), m.words.end(i)));
  return s;
}

std::vector<std::string> StoreReader::table_names() const {
  std::vector<std::string> out;
  for (const auto& kv : impl_->schema.tables) out.push_back(kv.first);
  return out;
}

std::map<std::string, ColumnInfo> StoreReader::table_columns(const std::string& table) const {
  impl_->extra(table);
  std::map<std::string, ColumnInfo> out;
  for (const auto& [c, col] : impl_->schema.tables.at(table)) out[c] = {col.type, col.width};
  return out;
}

Span StoreReader::table_range(const std::string& table, int64_t i) const {
  impl_->check_sample(i);
  const RaggedTable& t = impl_->extra(table);
  return {t.begin(i), t.end(i)};
}

Block StoreReader::table(const std::string& table, const std::string& column, int64_t i) const {
  auto lk = h5::lock();
  Span r = table_range(table, i);
  return impl_->extra(table).read(impl_->ctx, column, r.begin, r.end);
}

}  // namespace ps::store

namespace ps::store {

SnippetBatch StoreReader::read_batch(int64_t begin, int64_t end) const {
  auto lk = h5::lock();
  Impl& m = *impl_;
  std::vector<std::string> idv = ids(begin, end);  // validates the range
  SnippetBatch b;
  b.with_syntax = m.schema.syntax;
  if (begin == end) return b;
  // One read per column over the whole range, then split by the offsets.
  auto flat = [&](const RaggedTable& t, const std::string& col) { return t.read(m.ctx, col, t.begin(begin), t.begin(end)); };
  std::vector<int32_t> ids32 = vec_of<int32_t>(flat(m.tokens, "input_ids"));
  std::vector<Span> cs = vec_of<Span>(flat(m.tokens, "char_spans"));
  std::vector<Span> ws = vec_of<Span>(flat(m.words, "spans"));
  std::vector<Span> sw = vec_of<Span>(flat(m.words, "subword_spans"));
  std::vector<int32_t> d, c, u;
  if (m.schema.syntax) {
    d = vec_of<int32_t>(flat(m.syntax, "d"));
    c = vec_of<int32_t>(flat(m.syntax, "c"));
    u = vec_of<int32_t>(flat(m.words, "u"));
  }
  auto label = [&](const std::vector<std::string>& vocab, int32_t id) {
    if (id < 0 || size_t(id) >= vocab.size())
      throw InputError(where(m.ctx.file, "syntax label id " + std::to_string(id) + " outside its vocabulary"));
    return vocab[size_t(id)];
  };
  for (int64_t i = begin; i < end; ++i) {
    Snippet s;
    s.id = idv[size_t(i - begin)];
    int64_t t0 = m.tokens.begin(i) - m.tokens.begin(begin), t1 = m.tokens.end(i) - m.tokens.begin(begin);
    int64_t w0 = m.words.begin(i) - m.words.begin(begin), w1 = m.words.end(i) - m.words.begin(begin);
    s.input_ids.assign(ids32.begin() + t0, ids32.begin() + t1);
    s.char_spans.assign(cs.begin() + t0, cs.begin() + t1);
    s.word_spans.assign(ws.begin() + w0, ws.begin() + w1);
    s.word_subwords.assign(sw.begin() + w0, sw.begin() + w1);
    if (m.schema.syntax) {
      int64_t s0 = m.syntax.begin(i) - m.syntax.begin(begin), s1 = m.syntax.end(i) - m.syntax.begin(begin);
      s.syn_d.assign(d.begin() + s0, d.begin() + s1);
      for (int64_t k = s0; k < s1; ++k) s.syn_c.push_back(label(m.c_vocab, c[size_t(k)]));
      for (int64_t k = w0; k < w1; ++k) s.syn_u.push_back(label(m.u_vocab, u[size_t(k)]));
    }
    b.snippets.push_back(std::move(s));
  }
  for (const auto& [name, a] : m.schema.acts) {
    const RaggedTable& t = a.rows == Rows::tokens ? m.tokens : m.words;
    b.acts[name] = ActBlock{a.rows, a.col.type, flat(t, "act:" + name)};
  }
  for (const auto& [tn, cols] : m.schema.tables) {
    const RaggedTable& t = m.extras.at(tn);
    TableBlock& tb = b.tables[tn];
    for (int64_t i = begin; i < end; ++i) tb.counts.push_back(t.end(i) - t.begin(i));
    for (const auto& [cn, col] : cols) tb.columns[cn] = flat(t, cn);
  }
  return b;
}

}  // namespace ps::store
