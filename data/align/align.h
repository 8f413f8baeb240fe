#pragma once
// Code tokens (words) -> model subwords, and pooling subword vectors into one vector per word
// (AST-Probe §2: a code token's representation is the mean of its subwords').
//
// Offsets mode (default): the real source text is tokenized once; subword i belongs to word w when their byte
// spans overlap, after trimming whitespace off both ends of the subword's span. So a byte-level BPE "Ġfoo" whose
// span covers the space belongs to `foo` only, whitespace-only subwords belong to nothing, and a subword that
// straddles two words (e.g. a merged "()") belongs to both. The tokenizer's offsets are used as given.
// Joined mode (the reference code's): the words' texts joined by single spaces are tokenized instead; word
// spans are then their positions in that joined text and the same overlap rule applies.
// Special tokens (BOS/CLS/SEP/EOS added by the post-processor) never belong to a word.
// A word with no overlapping subword (the tokenizer dropped its bytes, e.g. a normalizer removing control
// characters) gets the nearest following non-special subword with content, else the nearest preceding one;
// it is counted in Alignment::n_fallback and flagged in Alignment::fallback.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/tokenizer/tokenizer.h"

namespace ps::align {

enum class Mode { Offsets, Joined };
enum class Pool { Mean, First, Last };
Mode mode_from_name(const std::string& name);  // "offsets" | "joined"; InputError otherwise
Pool pool_from_name(const std::string& name);  // "mean" | "first" | "last"; InputError otherwise

using Span = std::pair<int64_t, int64_t>;  // [begin, end) in bytes

struct Alignment {
  std::string text;        // what was tokenized: the source (Offsets) or the joined words (Joined)
  tok::Encoding encoding;  // the model input: ids, per-subword byte offsets in `text`, special_mask
  std::vector<Span> word_spans;  // each word's span in `text`
  // CSR: the subwords of word w are word_subwords[word_offsets[w] .. word_offsets[w+1]), ascending indices into
  // encoding.ids. Usually a contiguous run; not when whitespace-only subwords fall inside a word.
  std::vector<int64_t> word_offsets;
  std::vector<int64_t> word_subwords;
  std::vector<uint8_t> fallback;  // per word: 1 if it overlapped no subword and got the nearest one
  int64_t n_fallback = 0;
  int64_t n_words() const { return static_cast<int64_t>(word_spans.size()); }
  int64_t n_subwords() const { return static_cast<int64_t>(encoding.ids.size()); }
};

// The overlap rule on given subword spans (no tokenizer involved). `special` marks subwords that never align.
// Throws InputError if a word span is outside the text or reversed.
Alignment align_spans(const std::string& text, const std::vector<Span>& word_spans, tok::Encoding encoding);

// Offsets mode: tokenizes `code` (with special tokens) and aligns the words' byte spans in `code`.
Alignment align_offsets(const tok::Tokenizer& tokenizer, const std::string& code, const std::vector<Span>& word_spans,
                        bool add_special_tokens = true);

// Joined mode: tokenizes words joined by " ".
Alignment align_joined(const tok::Tokenizer& tokenizer, const std::vector<std::string>& words,
                       bool add_special_tokens = true);

// Either mode for words given by byte spans in `code`.
Alignment align(const tok::Tokenizer& tokenizer, const std::string& code, const std::vector<Span>& word_spans,
                Mode mode, bool add_special_tokens = true);

// Pools a row-major float matrix [n_subwords, d] (row i = encoding position i, specials included) into
// out [n_words, d]. A word without subwords (only possible when the encoding has no content subword at all)
// gets zeros. Throws InputError when n_subwords differs from the alignment's.
void pool(const Alignment& a, const float* subword_vectors, int64_t n_subwords, int64_t d, Pool mode, float* out);
std::vector<float> pool(const Alignment& a, const std::vector<float>& subword_vectors, int64_t d,
                        Pool mode = Pool::Mean);

}  // namespace ps::align
