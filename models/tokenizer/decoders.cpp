// Decoders (ids -> text): ByteLevel, Metaspace, WordPiece, BPEDecoder, ByteFallback, Fuse, Strip,
// Replace, Sequence — each a port of the HF decode_chain step.
#include <memory>
#include <vector>

#include "models/tokenizer/components.h"
#include "models/tokenizer/unicode.h"

namespace ps::tok {
namespace {

// Rust's String::from_utf8_lossy: each maximal invalid subsequence becomes one U+FFFD.
std::string utf8_lossy(const std::string& b) {
  std::string out;
  size_t i = 0;
  while (i < b.size()) {
    unsigned char c = b[i];
    size_t need = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
    if (need == 1) { out += char(c); ++i; continue; }
    size_t k = 1;
    if (need > 0) {
      for (; k < need && i + k < b.size(); ++k) {
        unsigned char d = b[i + k];
        unsigned char lo = 0x80, hi = 0xBF;
        if (k == 1) {
          if (c == 0xE0) lo = 0xA0;
          if (c == 0xED) hi = 0x9F;
          if (c == 0xF0) lo = 0x90;
          if (c == 0xF4) hi = 0x8F;
        }
        if (d < lo || d > hi) break;
      }
    }
    if (need > 0 && k == need) {
      out.append(b, i, need);
      i += need;
    } else {
      out += "\xEF\xBF\xBD";
      i += k;
    }
  }
  return out;
}

class ByteLevelDec : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::string bytes;
    for (const std::string& t : tokens) {
      std::string tb;
      bool ok = true;
      for (char32_t c : utf8_chars(t)) {
        int b = byte_from_char(c);
        if (b < 0) { ok = false; break; }
        tb += char(b);
      }
      bytes += ok ? tb : t;
    }
    return {utf8_lossy(bytes)};
  }
};

class MetaspaceDec : public Decoder {
 public:
  MetaspaceDec(char32_t rep, bool prepend) : rep_(rep), prepend_(prepend) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string r;
      for (char32_t c : utf8_chars(tokens[i])) {
        if (c == rep_) {
          if (!(i == 0 && prepend_)) r += ' ';
        } else {
          utf8_append(r, c);
        }
      }
      tokens[i] = r;
    }
    return tokens;
  }

 private:
  char32_t rep_;
  bool prepend_;
};

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
}

class WordPieceDec : public Decoder {
 public:
  WordPieceDec(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (i != 0) {
        size_t p = t.find(prefix_);
        if (t.compare(0, prefix_.size(), prefix_) == 0 && p != std::string::npos) t.erase(p, prefix_.size());
        else t = " " + t;
      }
      if (cleanup_) {
        for (auto [from, to] : std::vector<std::pair<const char*, const char*>>{
                 {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"}, {" 'm", "'m"},
                 {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}})
          replace_all(t, from, to);
      }
    }
    return tokens;
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

class BpeDec : public Decoder {
 public:
  explicit BpeDec(std::string suffix) : suffix_(std::move(suffix)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) replace_all(tokens[i], suffix_, i + 1 == tokens.size() ? "" : " ");
    return tokens;
  }

 private:
  std::string suffix_;
};

class ByteFallbackDec : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::vector<std::string> out;
    std::string pending;
    size_t npending = 0;
    auto flush = [&] {
      if (npending == 0) return;
      if (utf8_valid(pending, nullptr)) {
        out.push_back(pending);
      } else {
        for (size_t i = 0; i < npending; ++i) out.push_back("\xEF\xBF\xBD");
      }
      pending.clear();
      npending = 0;
    };
    for (const std::string& t : tokens) {
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' && isxdigit(uint8_t(t[3])) && isxdigit(uint8_t(t[4]))) {
        pending += char(std::stoi(t.substr(3, 2), nullptr, 16));
        ++npending;
      } else {
        flush();
        out.push_back(t);
      }
    }
    flush();
    return out;
  }
};

class FuseDec : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::string r;
    for (auto& t : tokens) r += t;
    return {r};
  }
};

class StripDec : public Decoder {
 public:
  StripDec(char32_t c, size_t start, size_t stop) : c_(c), start_(start), stop_(stop) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (auto& t : tokens) {
      std::vector<char32_t> cs = utf8_chars(t);
      size_t b = 0, e = cs.size();
      for (size_t i = 0; i < start_ && i < cs.size() && cs[i] == c_; ++i) b = i + 1;
      for (size_t i = 0; i < stop_ && i < cs.size() && cs[cs.size() - 1 - i] == c_; ++i) e = cs.size() - 1 - i;
      std::string r;
      for (size_t i = b; i < e; ++i) utf8_append(r, cs[i]);
      t = r;
    }
    return tokens;
  }

 private:
  char32_t c_;
  size_t start_, stop_;
};

class ReplaceDec : public Decoder {
 public:
  ReplaceDec(Pattern p, std::string content) : p_(std::move(p)), content_(std::move(content)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (auto& t : tokens) {
      std::string r;
      for (auto& [span, is_match] : p_.find_matches(t)) r += is_match ? content_ : t.substr(span.first, span.second - span.first);
      t = r;
    }
    return tokens;
  }

 private:
  Pattern p_;
  std::string content_;
};

class SequenceDec : public Decoder {
 public:
  explicit SequenceDec(std::vector<std::unique_ptr<Decoder>> v) : v_(std::move(v)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (const auto& d : v_) tokens = d->decode_chain(std::move(tokens));
    return tokens;
  }

 private:
  std::vector<std::unique_ptr<Decoder>> v_;
};

}  // namespace

std::unique_ptr<Decoder> make_decoder(const json& j, const JsonAt& at) {
  std::string type = type_of(j, at);
  if (type == "ByteLevel") return std::make_unique<ByteLevelDec>();
  if (type == "Metaspace") {
    std::vector<char32_t> rep = utf8_chars(get_string_or(j, "replacement", "\xE2\x96\x81", at));
    if (rep.size() != 1) (at / "replacement").fail("must be exactly one character");
    bool prepend = get_bool(j, "add_prefix_space", true, at);
    if (has(j, "prepend_scheme")) prepend = get_string(j, "prepend_scheme", at) != "never";
    return std::make_unique<MetaspaceDec>(rep[0], prepend);
  }
  if (type == "WordPiece")
    return std::make_unique<WordPieceDec>(get_string_or(j, "prefix", "##", at), get_bool(j, "cleanup", true, at));
  if (type == "BPEDecoder") return std::make_unique<BpeDec>(get_string_or(j, "suffix", "</w>", at));
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDec>();
  if (type == "Fuse") return std::make_unique<FuseDec>();
  if (type == "Strip") {
    std::vector<char32_t> c = utf8_chars(get_string(j, "content", at));
    if (c.size() != 1) (at / "content").fail("must be exactly one character");
    int64_t start = get_int(j, "start", at), stop = get_int(j, "stop", at);
    if (start < 0 || stop < 0) at.fail("start/stop must be >= 0");
    return std::make_unique<StripDec>(c[0], size_t(start), size_t(stop));
  }
  if (type == "Replace")
    return std::make_unique<ReplaceDec>(make_pattern(req(j, "pattern", at), at / "pattern"), get_string(j, "content", at));
  if (type == "Sequence") {
    const json& arr = get_array(j, "decoders", at);
    std::vector<std::unique_ptr<Decoder>> v;
    for (size_t i = 0; i < arr.size(); ++i) v.push_back(make_decoder(arr[i], (at / "decoders")[i]));
    return std::make_unique<SequenceDec>(std::move(v));
  }
  (at / "type").fail("unsupported decoder type '" + type + "'");
}

}  // namespace ps::tok
