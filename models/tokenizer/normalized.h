#pragma once
// A piece of text being normalized, with the alignment of every normalized byte to the original byte
// range it came from — a port of HF tokenizers' NormalizedString, so offsets through normalizers,
// pre-tokenizers and models come out exactly as the Rust library computes them. Alignments here are
// absolute (bytes of the full input), which equals HF's relative alignments plus original_shift.
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/tokenizer/regex.h"

namespace ps::tok {

using Span = std::pair<size_t, size_t>;

// What to split on: a regex, a literal string, or a per-char predicate (each matching char is one match).
struct Pattern {
  std::shared_ptr<const Regex> regex;
  std::string literal;
  std::function<bool(char32_t)> pred;
  bool invert = false;  // HF Split's invert: matches become the pieces between them and vice versa

  // HF Pattern::find_matches: the text cut into consecutive (span, is_match) pieces covering all of it.
  std::vector<std::pair<Span, bool>> find_matches(const std::string& s) const;
};

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

class NormalizedString {
 public:
  NormalizedString() = default;
  // Identity alignment over original bytes [shift, shift + text.size()).
  NormalizedString(std::string text, size_t shift);

  const std::string& get() const { return normalized_; }
  bool empty() const { return normalized_.empty(); }
  size_t original_shift() const { return shift_; }

  // Original byte span of normalized bytes [b, e) (HF convert_offsets Normalized -> Original, absolute).
  Span to_original(size_t b, size_t e) const;

  // dest: (char, change) where change is 1 for an inserted char, 0 for a replacement, -N for a
  // replacement followed by N removed chars; initial_offset chars are removed at the start of the range.
  void transform_range(size_t b, size_t e, const std::vector<std::pair<char32_t, int>>& dest,
                       size_t initial_offset);
  void transform(const std::vector<std::pair<char32_t, int>>& dest, size_t initial_offset) {
    transform_range(0, normalized_.size(), dest, initial_offset);
  }

  void prepend(const std::string& s);
  void append(const std::string& s);
  void replace(const Pattern& p, const std::string& content);
  void filter(const std::function<bool(char32_t)>& keep);
  void map(const std::function<char32_t(char32_t)>& f);
  void nfd();
  void lowercase();
  void strip(bool left, bool right);

  NormalizedString slice(size_t b, size_t e) const;  // normalized byte range, on char boundaries
  std::vector<NormalizedString> split(const Pattern& p, SplitBehavior behavior) const;

 private:
  std::string normalized_;
  std::vector<Span> align_;
  size_t shift_ = 0;
};

}  // namespace ps::tok
