#include "data/store/writer.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "data/store/h5.h"
#include "data/store/layout.h"
#include "data/store/ragged.h"
#include "data/store/detail/writer_impl.h"
#include "models/util/error.h"

namespace ps::store {

namespace L = layout;

namespace {
constexpr int64_t kSmallChunkBytes = 64 << 10;

h5::DatasetOptions small_opts(int64_t row_bytes) { return {std::max<int64_t>(1, kSmallChunkBytes / row_bytes), 0}; }

void disable_metadata_evictions(const h5::Ctx& c, hid_t file) {
  // Dirty metadata then reaches the disk only inside H5Fflush (our commit), never between commits,
  // so a kill -9 between commits leaves the on-disk metadata exactly as of the last commit.
  H5AC_cache_config_t cfg;
  cfg.version = H5AC__CURR_CACHE_CONFIG_VERSION;
  if (H5Fget_mdc_config(file, &cfg) < 0) c.fail("metadata cache config");
  cfg.evictions_enabled = 0;
  cfg.incr_mode = H5C_incr__off;
  cfg.flash_incr_mode = H5C_flash_incr__off;
  cfg.decr_mode = H5C_decr__off;
  if (H5Fset_mdc_config(file, &cfg) < 0) c.fail("metadata cache config");
}
}  // namespace

void StoreWriter::Impl::create_file(const std::string& tmp, const Manifest& m) {
  // Built under a temporary name and renamed once flushed, so `path` is never a half-made store.
  h5::Handle fcpl(ctx.check(H5Pcreate(H5P_FILE_CREATE), "property list"));
  // Never reuse freed space: a rewritten (e.g. recompressed) chunk must not land on bytes that the
  // last committed metadata still points to.
  if (H5Pset_file_space_strategy(fcpl, H5F_FSPACE_STRATEGY_NONE, 0, 1) < 0) ctx.fail("file space strategy");
  h5::Handle f(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, fcpl, H5P_DEFAULT));
  if (!f.valid()) ctx.fail("cannot create " + tmp.substr(tmp.rfind('/') + 1));
  h5::set_attr(ctx, f, L::kAttrFormat, std::string(L::kFormat));
  h5::set_attr(ctx, f, L::kAttrVersion, L::kFormatVersion);
  nlohmann::json mj = nlohmann::json::object();
  for (const auto& [k, v] : m) {
    if (L::is_reserved_attr(k)) throw InputError(where(ctx.file, "manifest key '" + k + "' is reserved"));
    if (k.empty()) throw InputError(where(ctx.file, "empty manifest key"));
    h5::set_attr(ctx, f, k, v);
    mj[k] = v;
  }
  h5::set_attr(ctx, f, L::kAttrManifest, mj.dump());
  h5::set_attr(ctx, f, L::kAttrSchema, L::Schema().to_json());
  h5::set_attr(ctx, f, L::kAttrCommitted, int64_t(0));
  h5::set_attr(ctx, f, L::kAttrComplete, int64_t(0));
  h5::set_attr(ctx, f, L::kAttrUid, uid);
  h5::Handle ids_ds = h5::create_strings(ctx, f, L::kIds, 4096);
  RaggedTable t("tokens", L::kTokenOffsets), w("words", L::kWordOffsets);
  t.create(ctx, f);
  t.add_column(ctx, f, "input_ids", L::kInputIds, DType::i32, 0, small_opts(4));
  t.add_column(ctx, f, "char_spans", L::kCharSpans, DType::i64, 2, small_opts(16));
  w.create(ctx, f);
  w.add_column(ctx, f, "spans", L::kWordSpans, DType::i64, 2, small_opts(16));
  w.add_column(ctx, f, "subword_spans", L::kSubwordSpans, DType::i64, 2, small_opts(16));
}

Manifest parse_manifest(const std::string& file, const std::string& json) {
  Manifest fm;
  try {
    nlohmann::json mj = nlohmann::json::parse(json);  // named: items() would dangle on a temporary
    for (const auto& [k, v] : mj.items()) fm[k] = v.get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(where(file, std::string("attribute manifest_json malformed: ") + e.what()));
  }
  return fm;
}

void check_manifest(const std::string& file, const Manifest& m, const Manifest& fm,
                    const std::vector<std::string>& ignore) {
  std::map<std::string, int> keys;
  for (const auto& kv : m) keys[kv.first] = 1;
  for (const auto& kv : fm) keys[kv.first] = 1;
  for (const auto& [k, unused] : keys) {
    if (std::find(ignore.begin(), ignore.end(), k) != ignore.end()) continue;
    auto a = m.find(k);
    auto b = fm.find(k);
    std::string here = a == m.end() ? "missing" : "'" + a->second + "'";
    std::string there = b == fm.end() ? "missing" : "'" + b->second + "'";
    if (here != there)
      throw InputError(where(file, "manifest differs: field '" + k + "' is " + here + " here but " + there + " in the file"));
  }
}

void StoreWriter::Impl::open_file(const Manifest& m, bool writable) {
  file = h5::Handle(H5Fopen(ctx.file.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!file.valid()) ctx.bad_input("not an HDF5 file or corrupt");
  if (writable) disable_metadata_evictions(ctx, file);
  if (H5Aexists(file, L::kAttrFormat) <= 0 || h5::attr_str(ctx, file, L::kAttrFormat) != L::kFormat)
    throw InputError(where(ctx.file, "not a probescope store (root attribute format missing)"));
  int64_t version = h5::attr_i64(ctx, file, L::kAttrVersion);
  if (version != L::kFormatVersion)
    throw InputError(where(ctx.file, "store format version " + std::to_string(version) + " (this build reads " +
                                         std::to_string(L::kFormatVersion) + ")"));
  Manifest fm = parse_manifest(ctx.file, h5::attr_str(ctx, file, L::kAttrManifest));
  check_manifest(ctx.file, m, fm, opts.ignore_on_resume);
  manifest = fm;
  uid = H5Aexists(file, L::kAttrUid) > 0 ? h5::attr_str(ctx, file, L::kAttrUid) : "";
  complete = h5::attr_i64(ctx, file, L::kAttrComplete) != 0;
  committed = samples = h5::attr_i64(ctx, file, L::kAttrCommitted);
  if (committed < 0) throw InputError(where(ctx.file, "committed_samples is negative"));
  ids = h5::open_dataset(ctx, file, L::kIds);
  if (h5::shape(ctx, ids).at(0) < committed)
    throw InputError(where(ctx.file, std::string(L::kIds) + " shorter than committed_samples (file corrupt)"));
  h5::set_rows(ctx, ids, committed);
  tokens.open_truncate(ctx, file, committed);
  tokens.open_column(ctx, file, "input_ids", L::kInputIds);
  tokens.open_column(ctx, file, "char_spans", L::kCharSpans);
  words.open_truncate(ctx, file, committed);
  words.open_column(ctx, file, "spans", L::kWordSpans);
  words.open_column(ctx, file, "subword_spans", L::kSubwordSpans);
  schema = L::Schema::from_json(ctx.file, h5::attr_str(ctx, file, L::kAttrSchema));
  if (committed == 0 && !schema.empty()) {
    if (!writable) throw RuntimeError(where(ctx.file, "uncommitted schema parts need a writable open"));
    // Parts created by a first batch that was never committed: drop them; the next first batch decides.
    for (const char* g : {"/acts", "/tables", "/syntax"})
      if (h5::exists(file, g) && H5Ldelete(file, g, H5P_DEFAULT) < 0) ctx.fail(std::string("delete ") + g);
    schema = L::Schema();
    schema_dirty = true;
  } else {
    open_schema_parts();
  }
}

void StoreWriter::Impl::open_schema_parts() {
  for (const auto& [name, a] : schema.acts)
    (a.rows == Rows::tokens ? tokens : words).open_column(ctx, file, "act:" + name, L::act_path(name));
  if (schema.syntax) {
    words.open_column(ctx, file, "u", L::kSyntaxU);
    syntax.open_truncate(ctx, file, committed);
    syntax.open_column(ctx, file, "d", L::kSyntaxD);
    syntax.open_column(ctx, file, "c", L::kSyntaxC);
    for (auto [v, path] : {std::pair{&c_vocab, L::kCVocab}, std::pair{&u_vocab, L::kUVocab}}) {
      v->ds = h5::open_dataset(ctx, file, path);
      for (const auto& s : h5::read_strings(ctx, v->ds, 0, h5::shape(ctx, v->ds).at(0))) v->intern(s);
      v->committed = int64_t(v->items.size());
    }
  }
  for (const auto& [t, cols] : schema.tables) {
    RaggedTable& rt = extras[t] = RaggedTable(t, L::table_offsets_path(t));
    rt.open_truncate(ctx, file, committed);
    for (const auto& [c, col] : cols) rt.open_column(ctx, file, c, L::table_column_path(t, c));
  }
}

void StoreWriter::Impl::create_schema_parts(const L::Schema& s) {
  for (const auto& [name, a] : s.acts) {
    int64_t rb = int64_t(dtype_size(a.col.type)) * std::max<int64_t>(a.col.width, 1);
    h5::DatasetOptions o{std::max<int64_t>(1, opts.chunk_bytes / rb), opts.gzip};
    RaggedTable& t = a.rows == Rows::tokens ? tokens : words;
    t.add_column(ctx, file, "act:" + name, L::act_path(name), a.col.type, a.col.width, o);
    h5::Handle ds = h5::open_dataset(ctx, file, L::act_path(name));
    h5::set_attr(ctx, ds, "rows", std::string(rows_name(a.rows)));
  }
  if (s.syntax) {
    words.add_column(ctx, file, "u", L::kSyntaxU, DType::i32, 0, small_opts(4));
    syntax.create(ctx, file);
    syntax.add_column(ctx, file, "d", L::kSyntaxD, DType::i32, 0, small_opts(4));
    syntax.add_column(ctx, file, "c", L::kSyntaxC, DType::i32, 0, small_opts(4));
    c_vocab.ds = h5::create_strings(ctx, file, L::kCVocab, 1024);
    u_vocab.ds = h5::create_strings(ctx, file, L::kUVocab, 1024);
  }
  for (const auto& [t, cols] : s.tables) {
    RaggedTable& rt = extras[t] = RaggedTable(t, L::table_offsets_path(t));
    rt.create(ctx, file);
    for (const auto& [c, col] : cols) {
      int64_t rb = int64_t(dtype_size(col.type)) * std::max<int64_t>(col.width, 1);
      rt.add_column(ctx, file, c, L::table_column_path(t, c), col.type, col.width,
                    {std::max<int64_t>(1, (is_float(col.type) ? opts.chunk_bytes : kSmallChunkBytes) / rb),
                     is_float(col.type) ? opts.gzip : 0});
    }
  }
  schema = s;
  schema_dirty = true;
}

void StoreWriter::Impl::create_new(const Manifest& m) {
  // Built under a temporary name and renamed once complete, so `path` is never a half-made store. The
  // journal is replaced only after the rename: until then an old journal still describes the old file.
  std::string tmp = ctx.file + ".partial";
  uid = new_uid();
  create_file(tmp, m);
  std::error_code ec;
  std::filesystem::rename(tmp, ctx.file, ec);
  if (ec) throw RuntimeError(where(ctx.file, "cannot rename " + tmp + ": " + ec.message()));
  given = m;
  open_file(m);
  hash_all();  // an empty file: seeds the hashes that finish() keeps as checksums
  if (opts.journal) {
    start_journal();
  } else if (std::filesystem::exists(journal_path(ctx.file))) {
    remove_journal(ctx.file);
  }
}

void StoreWriter::Impl::reset_file() {
  ids.reset();
  c_vocab = Vocab();
  u_vocab = Vocab();
  tokens = RaggedTable("tokens", L::kTokenOffsets);
  words = RaggedTable("words", L::kWordOffsets);
  syntax = RaggedTable("syntax", L::kSyntaxOffsets);
  extras.clear();
  file.reset();  // last: every object of the file is closed by now, so HDF5 flushes and closes it at once
  ids_hash = StreamHash();
  schema = L::Schema();
  schema_dirty = complete = read_only = hashes_valid = false;
  committed = samples = 0;
}

StoreWriter::StoreWriter(const std::string& path, const Manifest& manifest, const WriterOptions& opts)
    : impl_(std::make_unique<Impl>()) {
  auto lk = h5::lock();
  Impl& m = *impl_;
  m.ctx.file = path;
  m.opts = opts;
  bool exists = std::filesystem::exists(path);
  if (exists && opts.mode == WriterOptions::Mode::create) throw InputError(where(path, "already exists"));
  if (!exists || opts.mode == WriterOptions::Mode::overwrite) {
    m.create_new(manifest);
  } else {
    m.resumed = true;
    m.resume(manifest);
  }
  if (m.schema_dirty) {
    h5::set_attr(m.ctx, m.file, L::kAttrSchema, m.schema.to_json());
    m.schema_dirty = false;
  }
}

StoreWriter::~StoreWriter() {
  auto lk = h5::lock();
  try {
    impl_->close_guarded();  // closing flushes HDF5's dirty metadata: guarded like a commit
  } catch (const std::exception&) {
    // A destructor cannot report; the handles close below and the next resume checks the file.
  }
  impl_.reset();
}

const std::string& StoreWriter::path() const { return impl_->ctx.file; }
bool StoreWriter::resumed() const { return impl_->resumed; }
int64_t StoreWriter::committed_samples() const { return impl_->committed; }
int64_t StoreWriter::pending_samples() const { return impl_->samples - impl_->committed; }
const Manifest& StoreWriter::manifest() const { return impl_->manifest; }
const std::string& StoreWriter::recovery() const { return impl_->recovery; }

void StoreWriter::append(const SnippetBatch& b) {
  auto lk = h5::lock();
  Impl& m = *impl_;
  if (m.finished) throw RuntimeError(where(m.ctx.file, "append after finish()"));
  if (m.broken) throw RuntimeError(where(m.ctx.file, "an earlier write failed; reopen the store to resume"));
  if (b.snippets.empty()) return;
  if (m.read_only) m.make_writable();
  L::Schema bs = L::Schema::of_batch(b);
  for (const auto& [n, a] : b.acts) {
    L::check_name(m.ctx.file, "activation", n, true);
    if (!is_float(a.store) || !is_float(a.data.type))
      throw InputError(where(m.ctx.file, "activation '" + n + "' must be float32/float16/bfloat16"));
  }
  for (const auto& [t, tb] : b.tables) {
    L::check_name(m.ctx.file, "table", t, true);
    for (const auto& [c, blk] : tb.columns) L::check_name(m.ctx.file, "column", c, false);
    if (tb.columns.count("offsets")) throw InputError(where(m.ctx.file, "table '" + t + "': column name 'offsets' is reserved"));
    if (tb.counts.size() != b.snippets.size())
      throw InputError(where(m.ctx.file, "table '" + t + "': " + std::to_string(tb.counts.size()) +
                                             " counts for " + std::to_string(b.snippets.size()) + " snippets"));
  }
  if (m.samples == 0 && m.schema.empty()) {
    m.create_schema_parts(bs);
  } else {
    std::string d = bs.diff(m.schema);
    if (!d.empty()) throw InputError(where(m.ctx.file, "batch does not match the store: " + d));
  }
  m.append_impl(b);
}

}  // namespace ps::store
