#pragma once
// Code tokens (words) -> model subwords, and pooling subword vectors into one vector per word
// (AST-Probe §2: a code token's representation is the mean of its subwords').
//
// Boundary mode (the default for byte-level BPE and Metaspace tokenizers, see boundary.h): each word together
// with the whitespace/comment gap before it is encoded as its own piece and the ids are concatenated, so the
// text is unchanged, "Ġreturn" keeps its leading space, and no subword crosses a word boundary.
// Offsets mode: the real source text is tokenized once; subword i belongs to word w when their byte
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

enum class Mode { Offsets, Joined, Boundary };
enum class Pool { Mean, First, Last };
Mode mode_from_name(const std::string& name);  // "offsets" | "joined" | "boundary"; InputError otherwise
const char* mode_name(Mode m);
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
  // Adjacent word pairs whose subword sets overlap (a merged "()" pooled into both): they get identical
  // vectors when each has only that subword. Always 0 in boundary mode (unless a word falls back).
  int64_t n_shared_pairs = 0;
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

// Boundary mode: `continuation` encodes every piece after the first (continuation_tokenizer() of the same
// tokenizer.json: no prefix space/▁ added to a piece that continues the text). Word spans must be ascending and
// non-overlapping (InputError otherwise).
Alignment align_boundary(const tok::Tokenizer& tokenizer, const tok::Tokenizer& continuation, const std::string& code,
                         const std::vector<Span>& word_spans, bool add_special_tokens = true);

// Any mode for words given by byte spans in `code`. Boundary needs `continuation` (InputError without it).
Alignment align(const tok::Tokenizer& tokenizer, const std::string& code, const std::vector<Span>& word_spans,
                Mode mode, bool add_special_tokens = true, const tok::Tokenizer* continuation = nullptr);

// Words whose pooled subwords are not the contiguous run from their first to their last subword (a
// whitespace-only subword skipped inside a string literal): what /words/subword_spans alone cannot express.
int64_t count_noncontiguous(const Alignment& a);

// Pools a row-major float matrix [n_subwords, d] (row i = encoding position i, specials included) into
// out [n_words, d]. A word without subwords (only possible when the encoding has no content subword at all)
// gets zeros. Throws InputError when n_subwords differs from the alignment's.
void pool(const Alignment& a, const float* subword_vectors, int64_t n_subwords, int64_t d, Pool mode, float* out);
std::vector<float> pool(const Alignment& a, const std::vector<float>& subword_vectors, int64_t d,
                        Pool mode = Pool::Mean);

}  // namespace ps::align
