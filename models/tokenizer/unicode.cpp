#include "models/tokenizer/unicode.h"

#include <algorithm>

namespace ps::tok {
namespace {
struct CpRange { uint32_t lo, hi; };
struct DecompEntry { uint32_t cp, start, len; };
struct CccEntry { uint32_t cp, ccc; };
#include "models/tokenizer/unicode_tables.inc"

template <size_t N>
bool in_ranges(const CpRange (&r)[N], char32_t c) {
  auto it = std::upper_bound(r, r + N, uint32_t(c), [](uint32_t v, const CpRange& x) { return v < x.lo; });
  return it != r && c <= (it - 1)->hi;
}
template <typename T, size_t N>
const T* find_cp(const T (&t)[N], char32_t c) {
  auto it = std::lower_bound(t, t + N, uint32_t(c), [](const T& x, uint32_t v) { return x.cp < v; });
  return (it != t + N && it->cp == c) ? it : nullptr;
}
}  // namespace

char32_t utf8_decode(const std::string& s, size_t i, size_t* len) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char c0 = b(0);
  size_t n = s.size() - i;
  if (c0 < 0x80) { *len = 1; return c0; }
  if ((c0 >> 5) == 6 && n >= 2) { *len = 2; return ((c0 & 0x1F) << 6) | (b(1) & 0x3F); }
  if ((c0 >> 4) == 14 && n >= 3) { *len = 3; return ((c0 & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F); }
  if ((c0 >> 3) == 30 && n >= 4) {
    *len = 4;
    return ((c0 & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
  *len = 1;
  return 0xFFFD;
}

void utf8_append(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += char(c);
  } else if (c < 0x800) {
    out += char(0xC0 | (c >> 6)); out += char(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += char(0xE0 | (c >> 12)); out += char(0x80 | ((c >> 6) & 0x3F)); out += char(0x80 | (c & 0x3F));
  } else {
    out += char(0xF0 | (c >> 18)); out += char(0x80 | ((c >> 12) & 0x3F));
    out += char(0x80 | ((c >> 6) & 0x3F)); out += char(0x80 | (c & 0x3F));
  }
}

bool utf8_valid(const std::string& s, size_t* bad_offset) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 2;
    if (ok && n > 1) {
      size_t len;
      char32_t cp = utf8_decode(s, i, &len);
      // Reject overlong forms, surrogates and values past U+10FFFF.
      ok = !((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
             (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF);
    }
    if (!ok) {
      if (bad_offset) *bad_offset = i;
      return false;
    }
    i += n;
  }
  return true;
}

std::vector<char32_t> utf8_chars(const std::string& s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  for (size_t i = 0, n; i < s.size(); i += n) out.push_back(utf8_decode(s, i, &n));
  return out;
}

bool is_whitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}
bool is_alphanumeric(char32_t c) { return in_ranges(kLetter, c) || in_ranges(kNumber, c); }
bool is_number(char32_t c) { return in_ranges(kNumber, c); }
bool is_punctuation(char32_t c) { return in_ranges(kPunct, c); }
bool is_mark_nonspacing(char32_t c) { return in_ranges(kMn, c); }
bool is_other(char32_t c) { return in_ranges(kOther, c); }

bool is_chinese_char(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

void nfd_char(char32_t c, std::vector<char32_t>& out) {
  if (c >= 0xAC00 && c <= 0xD7A3) {  // Hangul syllables decompose algorithmically
    uint32_t s = c - 0xAC00;
    out.push_back(0x1100 + s / 588);
    out.push_back(0x1161 + (s % 588) / 28);
    if (s % 28) out.push_back(0x11A7 + s % 28);
    return;
  }
  if (const DecompEntry* e = find_cp(kDecomp, c)) {
    out.insert(out.end(), kDecompPool + e->start, kDecompPool + e->start + e->len);
  } else {
    out.push_back(c);
  }
}

int combining_class(char32_t c) {
  const CccEntry* e = find_cp(kCcc, c);
  return e ? int(e->ccc) : 0;
}

void lowercase_char(char32_t c, std::vector<char32_t>& out) {
  if (c < 0x80) {
    out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return;
  }
  if (const DecompEntry* e = find_cp(kLower, c)) {
    out.insert(out.end(), kLowerPool + e->start, kLowerPool + e->start + e->len);
  } else {
    out.push_back(c);
  }
}

}  // namespace ps::tok
