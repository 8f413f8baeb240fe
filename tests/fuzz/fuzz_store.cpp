// libFuzzer target: the HDF5 activation-store reader (data/store StoreReader) on mutated store files.
// Seeds are real stores written by StoreWriter: run the binary with PS_FUZZ_WRITE_SEEDS=<dir> and it
// writes them there and exits (script/fuzz does this). Each input is written to a scratch file, opened
// and read completely (ids, tokens, words, syntax, every activation and table, read_batch) through the
// public API. Contract: data consistent with the offsets, or a one-line ps::Error naming the file.
// HDF5 itself is not instrumented; a crash inside libhdf5 is still a crash (see README, Fuzzing).
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <hdf5.h>

#include "data/store/half.h"
#include "data/store/reader.h"
#include "data/store/writer.h"
#include "tests/fuzz/fuzz_util.h"

using ps::fuzz::check;
using namespace ps::store;

namespace {

// A few snippets with every kind of content: f32/f16/bf16 activations per token and per word, an extra
// table with an int64 and a float column, syntax labels; snippet 1 is empty.
SnippetBatch seed_batch(int64_t n) {
  SnippetBatch b;
  b.with_syntax = true;
  ActBlock t0{Rows::tokens, DType::f32, Block(DType::f32, 3)};
  ActBlock t1{Rows::tokens, DType::f16, Block(DType::f32, 2)};
  ActBlock w1{Rows::words, DType::bf16, Block(DType::bf16, 2)};
  TableBlock st;
  st.columns["parent"] = Block(DType::i64, 0);
  st.columns["depth"] = Block(DType::f32, 0);
  const char* cv[] = {"block", "<empty>", "call"};
  const char* uv[] = {"<empty>", "identifier"};
  for (int64_t k = 0; k < n; ++k) {
    Snippet s;
    s.id = "s" + std::to_string(k);
    const int64_t T = k == 1 ? 0 : 2 + k % 3, W = T == 0 ? 0 : 1 + k % T;
    for (int64_t t = 0; t < T; ++t) {
      s.input_ids.push_back(int32_t(7 * k + t));
      s.char_spans.push_back({3 * t, 3 * t + 2});
      const float r0[3] = {float(k), float(t), -1.5f}, r1[2] = {0.25f * float(t), 1e4f};
      t0.data.append(r0, 1);
      t1.data.append(r1, 1);
    }
    for (int64_t w = 0; w < W; ++w) {
      const Span sub{w * T / W, (w + 1) * T / W};
      s.word_subwords.push_back(sub);
      s.word_spans.push_back({s.char_spans[size_t(sub.begin)].begin, s.char_spans[size_t(sub.end - 1)].end});
      s.syn_u.push_back(uv[(k + w) % 2]);
      if (w + 1 < W) {
        s.syn_d.push_back(int32_t(1 + w));
        s.syn_c.push_back(cv[(k + w) % 3]);
      }
      const uint16_t row[2] = {float_to_bf16(float(w)), float_to_bf16(-2.0f)};
      w1.data.append(row, 1);
      const int64_t parent = w - 1;
      const float depth = float(w);
      st.columns["parent"].append(&parent, 1);
      st.columns["depth"].append(&depth, 1);
    }
    st.counts.push_back(W);
    b.snippets.push_back(std::move(s));
  }
  b.acts[act_name(Rows::tokens, 0)] = std::move(t0);
  b.acts[act_name(Rows::tokens, 1)] = std::move(t1);
  b.acts[act_name(Rows::words, 1)] = std::move(w1);
  b.tables["structural"] = std::move(st);
  return b;
}

void write_seeds(const std::string& dir) {
  std::filesystem::create_directories(dir);
  const Manifest m = {{key::model_path, "m"}, {key::dtype, "float32"}, {key::seed, "1"}};
  for (int gzip : {0, 1}) {
    WriterOptions o;
    o.mode = WriterOptions::Mode::overwrite;
    o.gzip = gzip;
    o.chunk_bytes = 64;
    o.journal = false;
    const std::string p = dir + (gzip ? "/store-gzip.h5" : "/store.h5");
    StoreWriter w(p, m, o);
    w.append(seed_batch(3));
    w.finish();
  }
  // Committed but not finished (complete = 0), written by two commits.
  WriterOptions o;
  o.mode = WriterOptions::Mode::overwrite;
  o.chunk_bytes = 64;
  o.journal = false;
  StoreWriter w(dir + "/store-open.h5", m, o);
  w.append(seed_batch(2));
  w.commit();
}

void read_all(const StoreReader& r) {
  const int64_t n = r.num_samples();
  check(n >= 0 && r.token_offsets().size() == size_t(n) + 1 && r.word_offsets().size() == size_t(n) + 1, "offsets sizes");
  const int64_t m = std::min<int64_t>(n, 16);
  (void)r.ids(0, m);
  for (int64_t i = 0; i < m; ++i) {
    const Span tr = r.token_range(i), wr = r.word_range(i);
    check(0 <= tr.begin && tr.begin <= tr.end && tr.end <= r.num_tokens(), "token range");
    check(0 <= wr.begin && wr.begin <= wr.end && wr.end <= r.num_words(), "word range");
    const TokenData t = r.tokens(i);
    check(t.input_ids.size() == size_t(tr.end - tr.begin) && t.char_spans.size() == t.input_ids.size(), "token rows");
    const WordData w = r.words(i);
    check(w.spans.size() == size_t(wr.end - wr.begin) && w.subwords.size() == w.spans.size(), "word rows");
    if (r.has_syntax()) (void)r.syntax(i);
    for (const auto& name : r.act_names()) {
      const Matrix a = r.acts(name, i);
      check(a.data.size() == size_t(a.rows * a.cols), "activation matrix size");
    }
    for (const auto& t : r.table_names())
      for (const auto& [c, info] : r.table_columns(t)) (void)r.table(t, c, i);
  }
  for (const auto& name : r.act_names()) {
    (void)r.act_info(name);
    const Matrix a = r.load_act(name);
    check(a.data.size() == size_t(a.rows * a.cols), "loaded activation size");
  }
  (void)r.layers(Rows::tokens);
  (void)r.layers(Rows::words);
  (void)r.read_batch(0, m);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("PS_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = ps::fuzz::scratch_path(".h5");
  ps::fuzz::write_scratch(path, data, size);
  try {
    const StoreReader r(path);
    read_all(r);
  } catch (const ps::Error& e) {
    if (std::getenv("PS_FUZZ_VERBOSE")) std::fprintf(stderr, "%s\n", e.what());
    ps::fuzz::check_error(e, path);
  }
  // HDF5 keeps freed blocks on global free lists and fills some caches lazily; releasing them after each
  // input keeps LeakSanitizer to leaks of this input (an unclosed handle would still show).
  H5garbage_collect();
  return 0;
}
