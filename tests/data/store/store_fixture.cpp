#include "tests/data/store/store_fixture.h"

#include <hdf5.h>

#include <filesystem>
#include <sstream>

#include "data/store/half.h"
#include "tests/common/scratch.h"

namespace ps::store::testing {

namespace {
uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

const char* kC[] = {"block", "<empty>", "expression_statement<sep>assignment", "if_statement", "call"};
const char* kU[] = {"<empty>", "break_statement", "identifier"};

Snippet make_snippet(int64_t k) {
  Snippet s;
  s.id = "snip-" + std::to_string(k);
  int64_t T = k % 17 == 3 ? 0 : 2 + (k * 7) % 9;
  int64_t W = T == 0 ? 0 : 1 + (k * 5) % T;
  for (int64_t t = 0; t < T; ++t) {
    s.input_ids.push_back(int32_t((k * 131 + t * 17) % 50257));
    s.char_spans.push_back({5 * t, 5 * t + 4});
  }
  for (int64_t w = 0; w < W; ++w) {
    Span sub{w * T / W, (w + 1) * T / W};
    s.word_subwords.push_back(sub);
    s.word_spans.push_back({s.char_spans[size_t(sub.begin)].begin, s.char_spans[size_t(sub.end - 1)].end});
    s.syn_u.push_back(kU[(k * 2 + w) % 3]);
    if (w + 1 < W) {
      s.syn_d.push_back(int32_t(1 + (k + 3 * w) % 4));
      s.syn_c.push_back(kC[(k + w) % 5]);
    }
  }
  return s;
}
}  // namespace

float act_value(int64_t snippet, int64_t row, int64_t col, int salt) {
  uint64_t h = splitmix(uint64_t(snippet) * 1000003u ^ splitmix(uint64_t(row) * 7919u ^ splitmix(uint64_t(col) * 31u + uint64_t(salt))));
  double u = double(h >> 11) / double(1ull << 53);
  double scale = col % 3 == 0 ? 1000.0 : (col % 3 == 1 ? 1.0 : 1e-3);
  return float((u - 0.5) * 8.0 * scale);
}

SnippetBatch make_batch(int64_t first, int64_t count) {
  SnippetBatch b;
  b.with_syntax = true;
  ActBlock t0{Rows::tokens, DType::f32, Block(DType::f32, 5)};
  ActBlock t1{Rows::tokens, DType::f16, Block(DType::f32, 8)};    // converted by the writer
  ActBlock w1{Rows::words, DType::bf16, Block(DType::bf16, 6)};   // caller already has bf16 bits
  TableBlock st, at;
  st.columns["parent"] = Block(DType::i64, 0);
  st.columns["depth"] = Block(DType::f32, 0);
  at.columns["pattern"] = Block(DType::f32, 0);
  for (int64_t k = first; k < first + count; ++k) {
    Snippet s = make_snippet(k);
    int64_t T = int64_t(s.input_ids.size()), W = int64_t(s.word_spans.size());
    for (int64_t t = 0; t < T; ++t) {
      float r0[5], r1[8];
      for (int64_t j = 0; j < 5; ++j) r0[j] = act_value(k, t, j, 0);
      for (int64_t j = 0; j < 8; ++j) r1[j] = act_value(k, t, j, 1);
      t0.data.append(r0, 1);
      t1.data.append(r1, 1);
    }
    for (int64_t w = 0; w < W; ++w) {
      uint16_t row[6];
      for (int j = 0; j < 6; ++j) row[j] = float_to_bf16(act_value(k, w, j, 2));
      w1.data.append(row, 1);
      int64_t parent = w == 0 ? -1 : (w - 1) / 2;
      float depth = float(w) * 0.5f;
      st.columns["parent"].append(&parent, 1);
      st.columns["depth"].append(&depth, 1);
    }
    st.counts.push_back(W);
    at.counts.push_back(kHeads * T * T);
    for (int64_t r = 0; r < kHeads * T * T; ++r) {
      float v = act_value(k, r, 0, 3);
      at.columns["pattern"].append(&v, 1);
    }
    b.snippets.push_back(std::move(s));
  }
  b.acts[act_name(Rows::tokens, 0)] = std::move(t0);
  b.acts[act_name(Rows::tokens, 1)] = std::move(t1);
  b.acts[act_name(Rows::words, 1)] = std::move(w1);
  b.tables["structural"] = std::move(st);
  b.tables[attn_table(1)] = std::move(at);
  return b;
}

Manifest base_manifest(const std::string& settings_hash) {
  return {{key::model_path, "/models/tiny-gpt2"}, {key::model_hash, "abc123"}, {key::dtype, "float16"},
          {key::device, "cpu"}, {key::packing, "prepack"}, {key::tool_version, "0.1.0"}, {key::seed, "123"},
          {key::corpus_hash, "c0ffee"}, {key::created_at, "2024-01-01T00:00:00Z"},
          {key::settings_hash, settings_hash}};
}

void write_range(StoreWriter& w, int64_t first, int64_t count, int64_t batch) {
  for (int64_t i = first; i < first + count; i += batch) {
    w.append(make_batch(i, std::min(batch, first + count - i)));
    w.commit();
  }
}

void write_store(const std::string& path, int64_t n, int64_t batch, const WriterOptions& o, const Manifest& m) {
  StoreWriter w(path, m, o);
  write_range(w, w.committed_samples(), n - w.committed_samples(), batch);
  w.finish();
}

namespace {
void put_block(std::ostringstream& os, const Block& b) {
  os << dtype_name(b.type) << "x" << b.width << ":" << b.rows() << ":";
  os.write(reinterpret_cast<const char*>(b.bytes.data()), std::streamsize(b.bytes.size()));
  os << "\n";
}
}  // namespace

std::string dump(const std::string& path) {
  StoreReader r(path);
  SnippetBatch b = r.read_batch(0, r.num_samples());
  std::ostringstream os;
  os << "n=" << r.num_samples() << " complete=" << r.complete() << " syntax=" << b.with_syntax << "\n";
  for (const Snippet& s : b.snippets) {
    os << s.id << "|";
    for (auto x : s.input_ids) os << x << ",";
    os << "|";
    for (auto x : s.char_spans) os << x.begin << "-" << x.end << ",";
    os << "|";
    for (auto x : s.word_spans) os << x.begin << "-" << x.end << ",";
    os << "|";
    for (auto x : s.word_subwords) os << x.begin << "-" << x.end << ",";
    os << "|";
    for (auto x : s.syn_d) os << x << ",";
    for (const auto& x : s.syn_c) os << x << ",";
    for (const auto& x : s.syn_u) os << x << ",";
    os << "\n";
  }
  for (const auto& [n, a] : b.acts) { os << "act " << n << " " << rows_name(a.rows) << " "; put_block(os, a.data); }
  for (const auto& [t, tb] : b.tables) {
    os << "table " << t << " counts ";
    for (auto c : tb.counts) os << c << ",";
    for (const auto& [c, blk] : tb.columns) { os << " " << c << " "; put_block(os, blk); }
  }
  os << "c_vocab";
  for (const auto& v : r.c_vocab()) os << " " << v;
  os << "\nu_vocab";
  for (const auto& v : r.u_vocab()) os << " " << v;
  return os.str();
}

namespace {
herr_t visit_cb(hid_t root, const char* name, const H5O_info_t* info, void* data) {
  if (info->type != H5O_TYPE_DATASET) return 0;
  hid_t ds = H5Dopen2(root, name, H5P_DEFAULT);
  hid_t sp = H5Dget_space(ds);
  hsize_t dims[4] = {0, 0, 0, 0};
  int rank = H5Sget_simple_extent_dims(sp, dims, nullptr);
  auto& os = *static_cast<std::ostringstream*>(data);
  os << name;
  for (int i = 0; i < rank; ++i) os << " " << dims[i];
  os << "\n";
  H5Sclose(sp);
  H5Dclose(ds);
  return 0;
}
}  // namespace

std::string extents(const std::string& path) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return "cannot open " + path;
  std::ostringstream os;
  H5Ovisit(f, H5_INDEX_NAME, H5_ITER_INC, visit_cb, &os);
  H5Fclose(f);
  return os.str();
}

std::string temp_dir(const std::string& test_name) {
  return ps::test::scratch_dir(test_name).string();
}

}  // namespace ps::store::testing
