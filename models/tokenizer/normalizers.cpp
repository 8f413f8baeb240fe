// Normalizers: BertNormalizer, Lowercase, NFD, StripAccents, Prepend, Append, Replace, Strip, Sequence.
// Unicode compositions (NFC/NFKC/NFKD) and SentencePiece's Precompiled charsmap are not implemented
// and are rejected when a tokenizer.json asks for them.
#include <memory>
#include <vector>

#include "models/tokenizer/components.h"
#include "models/tokenizer/unicode.h"

namespace ps::tok {
namespace {

class BertNormalizer : public Normalizer {
 public:
  BertNormalizer(bool clean, bool chinese, bool strip, bool lower)
      : clean_(clean), chinese_(chinese), strip_(strip), lower_(lower) {}
  void normalize(NormalizedString& s) const override {
    if (clean_) {
      s.filter([](char32_t c) {
        bool control = !(c == '\t' || c == '\n' || c == '\r') && is_other(c);
        return !(c == 0 || c == 0xFFFD || control);
      });
      s.map([](char32_t c) { return (c == '\t' || c == '\n' || c == '\r' || is_whitespace(c)) ? U' ' : c; });
    }
    if (chinese_) {
      std::vector<std::pair<char32_t, int>> dest;
      for (char32_t c : utf8_chars(s.get())) {
        if (is_chinese_char(c)) {
          dest.push_back({U' ', 1});
          dest.push_back({c, 0});
          dest.push_back({U' ', 1});
        } else {
          dest.push_back({c, 0});
        }
      }
      s.transform(dest, 0);
    }
    if (strip_) {
      s.nfd();
      s.filter([](char32_t c) { return !is_mark_nonspacing(c); });
    }
    if (lower_) s.lowercase();
  }

 private:
  bool clean_, chinese_, strip_, lower_;
};

class Lowercase : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override { s.lowercase(); }
};

class Nfd : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override { s.nfd(); }
};

class StripAccents : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override {
    s.filter([](char32_t c) { return !is_mark_nonspacing(c); });
  }
};

class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string p) : p_(std::move(p)) {}
  void normalize(NormalizedString& s) const override { s.prepend(p_); }

 private:
  std::string p_;
};

class Append : public Normalizer {
 public:
  explicit Append(std::string p) : p_(std::move(p)) {}
  void normalize(NormalizedString& s) const override { s.append(p_); }

 private:
  std::string p_;
};

class Replace : public Normalizer {
 public:
  Replace(Pattern p, std::string content) : p_(std::move(p)), content_(std::move(content)) {}
  void normalize(NormalizedString& s) const override { s.replace(p_, content_); }

 private:
  Pattern p_;
  std::string content_;
};

class Strip : public Normalizer {
 public:
  Strip(bool l, bool r) : l_(l), r_(r) {}
  void normalize(NormalizedString& s) const override { s.strip(l_, r_); }

 private:
  bool l_, r_;
};

class Sequence : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> v) : v_(std::move(v)) {}
  void normalize(NormalizedString& s) const override {
    for (const auto& n : v_) n->normalize(s);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> v_;
};

}  // namespace

Pattern make_pattern(const json& j, const JsonAt& at) {
  Pattern p;
  if (j.is_object() && j.contains("String") && j.at("String").is_string()) {
    p.literal = j.at("String").get<std::string>();
    if (p.literal.empty()) (at / "String").fail("empty pattern");
  } else if (j.is_object() && j.contains("Regex") && j.at("Regex").is_string()) {
    try {
      p.regex = std::make_shared<Regex>(j.at("Regex").get<std::string>());
    } catch (const std::invalid_argument& e) {
      (at / "Regex").fail(e.what());
    }
  } else {
    at.fail("expected {\"String\": ...} or {\"Regex\": ...}");
  }
  return p;
}

std::unique_ptr<Normalizer> make_normalizer(const json& j, const JsonAt& at) {
  std::string type = type_of(j, at);
  if (type == "BertNormalizer") {
    bool lower = get_bool(j, "lowercase", true, at);
    // strip_accents: null means "follow lowercase", as in the original BERT.
    return std::make_unique<BertNormalizer>(get_bool(j, "clean_text", true, at),
                                            get_bool(j, "handle_chinese_chars", true, at),
                                            get_bool(j, "strip_accents", lower, at), lower);
  }
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "NFD") return std::make_unique<Nfd>();
  if (type == "StripAccents") return std::make_unique<StripAccents>();
  if (type == "Prepend") return std::make_unique<Prepend>(get_string(j, "prepend", at));
  if (type == "Append") return std::make_unique<Append>(get_string(j, "append", at));
  if (type == "Replace")
    return std::make_unique<Replace>(make_pattern(req(j, "pattern", at), at / "pattern"),
                                     get_string(j, "content", at));
  if (type == "Strip")
    return std::make_unique<Strip>(get_bool(j, "strip_left", true, at), get_bool(j, "strip_right", true, at));
  if (type == "Sequence") {
    const json& arr = get_array(j, "normalizers", at);
    std::vector<std::unique_ptr<Normalizer>> v;
    for (size_t i = 0; i < arr.size(); ++i) v.push_back(make_normalizer(arr[i], (at / "normalizers")[i]));
    return std::make_unique<Sequence>(std::move(v));
  }
  (at / "type").fail("unsupported normalizer type '" + type + "'");
}

}  // namespace ps::tok
