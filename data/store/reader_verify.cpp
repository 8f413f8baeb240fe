// StoreReader::verify (the whole store at once: what `probescope verify` and merge run) and the
// schema check every open does.
#include <algorithm>
#include <cstring>

#include "data/store/detail/reader_impl.h"

namespace ps::store {

namespace {
std::string n2s(int64_t v) { return std::to_string(v); }

template <class T>
std::vector<T> vec_of(const Block& b) {
  std::vector<T> v(b.bytes.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), b.bytes.data(), b.bytes.size());
  return v;
}

void expect_col(const h5::Ctx& c, const RaggedTable& t, const std::string& key, DType type, int64_t width) {
  const RaggedTable::Column& col = t.column(c, key);
  if (col.type != type || col.width != width)
    throw CorruptStore(where(c.file, col.path + " is " + dtype_name(col.type) + " x " + n2s(col.width) + " but should be " +
                                         dtype_name(type) + " x " + n2s(width) + " (file corrupt)"));
}

// Snippets [i, j) whose rows in `t` fit a bounded read (at least one snippet).
int64_t block_end(const RaggedTable& t, int64_t i, int64_t n) {
  constexpr int64_t kRows = int64_t(1) << 20;
  int64_t j = i + 1;
  while (j < n && t.end(j) - t.begin(i) <= kRows) ++j;
  return j;
}
}  // namespace

void StoreReader::Impl::check_schema() const {
  expect_col(ctx, tokens, "input_ids", DType::i32, 0);
  expect_col(ctx, tokens, "char_spans", DType::i64, 2);
  expect_col(ctx, words, "spans", DType::i64, 2);
  expect_col(ctx, words, "subword_spans", DType::i64, 2);
  for (const auto& [name, a] : schema.acts) expect_col(ctx, act_table(name), "act:" + name, a.col.type, a.col.width);
  if (schema.syntax) {
    expect_col(ctx, words, "u", DType::i32, 0);
    expect_col(ctx, syntax, "d", DType::i32, 0);
    expect_col(ctx, syntax, "c", DType::i32, 0);
  }
  for (const auto& [t, cols] : schema.tables)
    for (const auto& [c, col] : cols) expect_col(ctx, extras.at(t), c, col.type, col.width);
}

VerifyReport StoreReader::verify() const {
  auto lk = h5::lock();
  Impl& m = *impl_;
  VerifyReport r;
  r.checksums = m.checksums;
  m.ids_check.verify(m.ctx, m.ids);
  r.datasets = 1 + (m.schema.syntax ? 2 : 0);  // ids and the vocabularies (verified by the open)
  std::vector<const RaggedTable*> tables{&m.tokens, &m.words};
  if (m.schema.syntax) tables.push_back(&m.syntax);
  for (const auto& [t, rt] : m.extras) tables.push_back(&rt);
  for (const RaggedTable* t : tables) {
    ++r.datasets;  // its offsets, verified by the open
    for (const auto& [key, col] : t->columns()) {
      t->verify(m.ctx, key);
      ++r.datasets;
    }
  }

  // Structure the open does not look at, in bounded blocks of snippets.
  for (int64_t i = 0; i < m.n;) {
    int64_t j = block_end(m.words, i, m.n);
    std::vector<Span> sw = vec_of<Span>(m.words.read(m.ctx, "subword_spans", m.words.begin(i), m.words.begin(j)));
    std::vector<int32_t> u;
    if (m.schema.syntax) u = vec_of<int32_t>(m.words.read(m.ctx, "u", m.words.begin(i), m.words.begin(j)));
    for (int64_t k = i; k < j; ++k) {
      int64_t T = m.tokens.end(k) - m.tokens.begin(k), W = m.words.end(k) - m.words.begin(k);
      for (int64_t w = m.words.begin(k); w < m.words.end(k); ++w) {
        const Span& s = sw[size_t(w - m.words.begin(i))];
        if (s.begin < 0 || s.end < s.begin || s.end > T)
          throw CorruptStore(where(m.ctx.file, std::string(L::kSubwordSpans) + " row " + n2s(w) + ": token range [" +
                                                   n2s(s.begin) + ", " + n2s(s.end) + ") outside snippet " + n2s(k) +
                                                   "'s " + n2s(T) + " tokens (file corrupt)"));
      }
      if (m.schema.syntax && m.syntax.end(k) - m.syntax.begin(k) != std::max<int64_t>(W - 1, 0))
        throw CorruptStore(where(m.ctx.file, std::string(L::kSyntaxOffsets) + ": snippet " + n2s(k) + " has " +
                                                 n2s(m.syntax.end(k) - m.syntax.begin(k)) + " label rows for " + n2s(W) +
                                                 " words (want max(W-1, 0); file corrupt)"));
    }
    for (size_t k = 0; k < u.size(); ++k)
      if (u[k] < 0 || size_t(u[k]) >= m.u_vocab.size())
        throw CorruptStore(where(m.ctx.file, std::string(L::kSyntaxU) + " row " + n2s(m.words.begin(i) + int64_t(k)) +
                                                 ": label id " + n2s(u[k]) + " outside u_vocab's " +
                                                 n2s(int64_t(m.u_vocab.size())) + " entries (file corrupt)"));
    i = j;
  }
  if (m.schema.syntax) {
    constexpr int64_t kRows = int64_t(1) << 20;
    for (int64_t r0 = 0; r0 < m.syntax.rows(); r0 += kRows) {
      int64_t r1 = std::min(m.syntax.rows(), r0 + kRows);
      std::vector<int32_t> c = vec_of<int32_t>(m.syntax.read(m.ctx, "c", r0, r1));
      for (size_t k = 0; k < c.size(); ++k)
        if (c[k] < 0 || size_t(c[k]) >= m.c_vocab.size())
          throw CorruptStore(where(m.ctx.file, std::string(L::kSyntaxC) + " row " + n2s(r0 + int64_t(k)) + ": label id " +
                                                   n2s(c[k]) + " outside c_vocab's " + n2s(int64_t(m.c_vocab.size())) +
                                                   " entries (file corrupt)"));
    }
  }
  return r;
}

}  // namespace ps::store
