// Byte-level vetting of candidate snippets: binary, encoding, empty, minified.
#include <cstring>

#include "data/corpus/readers.h"

namespace ps::corpus {

bool valid_utf8(const char* data, size_t n, size_t* bad_offset) {
  const auto* s = reinterpret_cast<const unsigned char*>(data);
  size_t i = 0;
  auto fail = [&](size_t at) {
    if (bad_offset) *bad_offset = at;
    return false;
  };
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return fail(i);
    }
    if (i + len > n) return fail(i);
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return fail(i);
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    static const uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return fail(i);
    i += len;
  }
  return true;
}

std::optional<TextProblem> check_text(const std::string& data, size_t max_line_bytes) {
  if (data.find_first_not_of(" \t\r\n\f\v") == std::string::npos)
    return TextProblem{SkipReason::Empty, data.empty() ? "empty" : "only whitespace"};
  if (const void* nul = std::memchr(data.data(), '\0', data.size()))
    return TextProblem{SkipReason::Binary, "binary (NUL byte at offset " +
                                               std::to_string(static_cast<const char*>(nul) - data.data()) + ")"};
  size_t bad = 0;
  if (!valid_utf8(data.data(), data.size(), &bad))
    return TextProblem{SkipReason::BadUtf8, "invalid UTF-8 at byte offset " + std::to_string(bad)};
  size_t line = 1, start = 0;
  while (start <= data.size()) {
    size_t nl = data.find('\n', start);
    size_t end = nl == std::string::npos ? data.size() : nl;
    if (end - start > max_line_bytes)
      return TextProblem{SkipReason::LongLine, "line " + std::to_string(line) + " has " +
                                                   std::to_string(end - start) + " bytes (limit " +
                                                   std::to_string(max_line_bytes) + "; minified or generated?)"};
    if (nl == std::string::npos) break;
    start = nl + 1;
    ++line;
  }
  return std::nullopt;
}

std::vector<std::string> paragraphs(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    size_t end = nl == std::string::npos ? text.size() : nl + 1;
    std::string line = text.substr(start, end - start);
    if (line.find_first_not_of(" \t\r\n\f\v") == std::string::npos) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += line;
    }
    start = end;
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  // A paragraph's trailing newline is separator, not content.
  for (auto& p : out)
    while (!p.empty() && (p.back() == '\n' || p.back() == '\r')) p.pop_back();
  return out;
}

}  // namespace ps::corpus
