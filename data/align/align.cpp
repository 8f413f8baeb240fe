#include <algorithm>
#include <cstring>

#include "data/align/align.h"
#include "models/util/error.h"

namespace ps::align {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

Mode mode_from_name(const std::string& name) {
  if (name == "offsets") return Mode::Offsets;
  if (name == "joined") return Mode::Joined;
  if (name == "boundary") return Mode::Boundary;
  throw InputError("--align: unknown mode '" + name + "' (expected boundary, offsets or joined)");
}

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::Offsets: return "offsets";
    case Mode::Joined: return "joined";
    case Mode::Boundary: return "boundary";
  }
  return "?";
}

int64_t count_noncontiguous(const Alignment& a) {
  int64_t n = 0;
  for (int64_t w = 0; w < a.n_words(); ++w) {
    const int64_t b = a.word_offsets[w], e = a.word_offsets[w + 1];
    if (b < e && a.word_subwords[e - 1] - a.word_subwords[b] != e - b - 1) ++n;
  }
  return n;
}

Pool pool_from_name(const std::string& name) {
  if (name == "mean") return Pool::Mean;
  if (name == "first") return Pool::First;
  if (name == "last") return Pool::Last;
  throw InputError("--pool: unknown pooling '" + name + "' (expected mean, first or last)");
}

Alignment align_spans(const std::string& text, const std::vector<Span>& word_spans, tok::Encoding encoding) {
  const int64_t len = static_cast<int64_t>(text.size());
  for (size_t w = 0; w < word_spans.size(); ++w) {
    auto [a, z] = word_spans[w];
    if (a < 0 || z < a || z > len)
      throw InputError("align: word " + std::to_string(w) + " span [" + std::to_string(a) + ", " + std::to_string(z) +
                       ") is outside the text of " + std::to_string(len) + " bytes");
  }
  Alignment al;
  al.text = text;
  al.word_spans = word_spans;
  al.encoding = std::move(encoding);
  const auto& enc = al.encoding;
  const size_t n_sub = enc.ids.size();

  // Content subwords: not special, non-empty after trimming whitespace; (trimmed begin, trimmed end, index).
  struct Sub {
    int64_t b, e, idx;
  };
  std::vector<Sub> subs;
  for (size_t i = 0; i < n_sub; ++i) {
    if (i < enc.special_mask.size() && enc.special_mask[i]) continue;
    if (i >= enc.offsets.size()) break;
    int64_t b = std::clamp<int64_t>(enc.offsets[i].first, 0, len), e = std::clamp<int64_t>(enc.offsets[i].second, 0, len);
    while (b < e && is_space(text[b])) ++b;
    while (e > b && is_space(text[e - 1])) --e;
    if (b < e) subs.push_back({b, e, static_cast<int64_t>(i)});
  }
  std::sort(subs.begin(), subs.end(), [](const Sub& x, const Sub& y) { return x.b != y.b ? x.b < y.b : x.idx < y.idx; });
  // prefix_max_end[k] = max end over subs[0..k]: non-decreasing, so the first candidate is a binary search even if
  // some tokenizer produced overlapping spans.
  std::vector<int64_t> prefix_max_end(subs.size());
  for (size_t k = 0; k < subs.size(); ++k) prefix_max_end[k] = std::max(subs[k].e, k ? prefix_max_end[k - 1] : 0);

  al.word_offsets.assign(1, 0);
  al.fallback.assign(word_spans.size(), 0);
  std::vector<int64_t> mine;
  for (size_t w = 0; w < word_spans.size(); ++w) {
    const auto [a, z] = word_spans[w];
    mine.clear();
    size_t end_k = std::lower_bound(subs.begin(), subs.end(), z, [](const Sub& s, int64_t v) { return s.b < v; }) -
                   subs.begin();
    size_t k = std::upper_bound(prefix_max_end.begin(), prefix_max_end.end(), a) - prefix_max_end.begin();
    for (; k < end_k; ++k)
      if (subs[k].e > a && subs[k].b < z) mine.push_back(subs[k].idx);
    if (mine.empty()) {
      al.fallback[w] = 1;
      ++al.n_fallback;
      size_t f = std::lower_bound(subs.begin(), subs.end(), a, [](const Sub& s, int64_t v) { return s.b < v; }) -
                 subs.begin();
      if (f < subs.size())
        mine.push_back(subs[f].idx);
      else if (!subs.empty())
        mine.push_back(subs[f - 1].idx);
    }
    std::sort(mine.begin(), mine.end());
    al.word_subwords.insert(al.word_subwords.end(), mine.begin(), mine.end());
    al.word_offsets.push_back(static_cast<int64_t>(al.word_subwords.size()));
  }
  for (size_t w = 1; w < word_spans.size(); ++w) {
    const auto b0 = al.word_subwords.begin() + al.word_offsets[w - 1], e0 = al.word_subwords.begin() + al.word_offsets[w];
    const auto e1 = al.word_subwords.begin() + al.word_offsets[w + 1];
    for (auto i = b0, j = e0; i != e0 && j != e1;) {  // both lists ascending
      if (*i == *j) {
        ++al.n_shared_pairs;
        break;
      }
      *i < *j ? ++i : ++j;
    }
  }
  return al;
}

Alignment align_offsets(const tok::Tokenizer& tokenizer, const std::string& code, const std::vector<Span>& word_spans,
                        bool add_special_tokens) {
  return align_spans(code, word_spans, tokenizer.encode(code, add_special_tokens));
}

Alignment align_joined(const tok::Tokenizer& tokenizer, const std::vector<std::string>& words, bool add_special_tokens) {
  std::string joined;
  std::vector<Span> spans;
  spans.reserve(words.size());
  for (size_t i = 0; i < words.size(); ++i) {
    if (i) joined += ' ';
    spans.emplace_back(static_cast<int64_t>(joined.size()), static_cast<int64_t>(joined.size() + words[i].size()));
    joined += words[i];
  }
  return align_spans(joined, spans, tokenizer.encode(joined, add_special_tokens));
}

Alignment align(const tok::Tokenizer& tokenizer, const std::string& code, const std::vector<Span>& word_spans, Mode mode,
                bool add_special_tokens, const tok::Tokenizer* continuation) {
  if (mode == Mode::Offsets) return align_offsets(tokenizer, code, word_spans, add_special_tokens);
  if (mode == Mode::Boundary) {
    if (!continuation) throw InputError("align: boundary mode needs the continuation tokenizer");
    return align_boundary(tokenizer, *continuation, code, word_spans, add_special_tokens);
  }
  std::vector<std::string> words;
  words.reserve(word_spans.size());
  const int64_t len = static_cast<int64_t>(code.size());
  for (size_t w = 0; w < word_spans.size(); ++w) {
    auto [a, z] = word_spans[w];
    if (a < 0 || z < a || z > len)
      throw InputError("align: word " + std::to_string(w) + " span [" + std::to_string(a) + ", " + std::to_string(z) +
                       ") is outside the text of " + std::to_string(len) + " bytes");
    words.push_back(code.substr(a, z - a));
  }
  return align_joined(tokenizer, words, add_special_tokens);
}

void pool(const Alignment& a, const float* x, int64_t n_subwords, int64_t d, Pool mode, float* out) {
  if (n_subwords != a.n_subwords())
    throw InputError("pool: matrix has " + std::to_string(n_subwords) + " rows but the encoding has " +
                     std::to_string(a.n_subwords()) + " subwords");
  if (d < 0) throw InputError("pool: negative width");
  std::fill(out, out + a.n_words() * d, 0.0f);
  for (int64_t w = 0; w < a.n_words(); ++w) {
    const int64_t b = a.word_offsets[w], e = a.word_offsets[w + 1];
    if (b == e) continue;
    float* o = out + w * d;
    if (mode == Pool::First || mode == Pool::Last) {
      const float* row = x + a.word_subwords[mode == Pool::First ? b : e - 1] * d;
      std::memcpy(o, row, sizeof(float) * d);
      continue;
    }
    for (int64_t k = b; k < e; ++k) {
      const float* row = x + a.word_subwords[k] * d;
      for (int64_t j = 0; j < d; ++j) o[j] += row[j];
    }
    const float inv = 1.0f / static_cast<float>(e - b);
    for (int64_t j = 0; j < d; ++j) o[j] *= inv;
  }
}

std::vector<float> pool(const Alignment& a, const std::vector<float>& x, int64_t d, Pool mode) {
  if (d <= 0 || x.size() % static_cast<size_t>(d) != 0)
    throw InputError("pool: matrix of " + std::to_string(x.size()) + " floats is not [n, " + std::to_string(d) + "]");
  std::vector<float> out(static_cast<size_t>(a.n_words() * d));
  pool(a, x.data(), static_cast<int64_t>(x.size()) / d, d, mode, out.data());
  return out;
}

}  // namespace ps::align
