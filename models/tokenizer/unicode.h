#pragma once
// UTF-8 helpers and the Unicode properties the HF tokenizers pipeline consults (Rust char semantics).
// Tables come from Python's unicodedata 14.0 (unicode_tables.inc); Rust's std/crates may use a newer
// Unicode version, so code points assigned after 14.0 can classify differently.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ps::tok {

// Decodes the code point starting at s[i]; sets len to its byte length. Invalid bytes decode as
// U+FFFD with len 1 (tokenizer input is expected to be valid UTF-8; encode() validates first).
char32_t utf8_decode(const std::string& s, size_t i, size_t* len);
void utf8_append(std::string& out, char32_t c);
bool utf8_valid(const std::string& s, size_t* bad_offset);
std::vector<char32_t> utf8_chars(const std::string& s);

bool is_whitespace(char32_t c);      // Rust char::is_whitespace (White_Space property)
bool is_alphanumeric(char32_t c);    // approximated as L* or N* (Rust: Alphabetic or Numeric)
bool is_number(char32_t c);         // general category N* (Rust char::is_numeric)
bool is_punctuation(char32_t c);     // general category P*
bool is_mark_nonspacing(char32_t c); // Mn
bool is_other(char32_t c);           // C* (Cc, Cf, Cs, Co, Cn)
bool is_chinese_char(char32_t c);    // the CJK blocks BERT spaces out

// Full canonical decomposition of one code point (Hangul included); returns {c} when none.
void nfd_char(char32_t c, std::vector<char32_t>& out);
int combining_class(char32_t c);
// Full lowercase mapping of one char (may be several chars, e.g. U+0130).
void lowercase_char(char32_t c, std::vector<char32_t>& out);

}  // namespace ps::tok
