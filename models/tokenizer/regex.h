#pragma once
// PCRE2 (UTF + UCP, JIT when available) wrapper with the find-all semantics of the Rust onig crate used by
// HF tokenizers: non-overlapping, left to right; after an empty match the search resumes one char later.
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ps::tok {

class Regex {
 public:
  // Throws std::invalid_argument with PCRE2's message when the pattern does not compile.
  explicit Regex(const std::string& pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Byte spans [begin, end) of every match in s. Thread-safe (match data is per call).
  std::vector<std::pair<size_t, size_t>> find_all(const std::string& s) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code_8*, kept opaque so pcre2.h stays out of this header
};

}  // namespace ps::tok
