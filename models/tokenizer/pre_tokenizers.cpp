// Pre-tokenizers: ByteLevel (GPT-2 regex + byte-to-char mapping), Metaspace, BertPreTokenizer,
// Whitespace, WhitespaceSplit, Split, Digits, Sequence.
#include <memory>
#include <vector>

#include "models/tokenizer/components.h"
#include "models/tokenizer/unicode.h"

namespace ps::tok {
namespace {

const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct ByteTables {
  char32_t to_char[256];
  ByteTables() {
    // GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the rest to 256, 257, ...
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      bool keep = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_char[b] = keep ? char32_t(b) : char32_t(256 + n++);
    }
  }
};
const ByteTables& byte_tables() {
  static const ByteTables t;
  return t;
}

class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex) : prefix_(add_prefix_space), use_regex_(use_regex) {
    static const auto re = std::make_shared<const Regex>(kGpt2Pattern);
    pattern_.regex = re;
  }
  void pre_tokenize(std::vector<Split>& splits) const override {
    split_each(splits, [&](NormalizedString& ns) {
      if (prefix_ && ns.get().compare(0, 1, " ") != 0) ns.prepend(" ");
      if (use_regex_) return ns.split(pattern_, SplitBehavior::Isolated);
      return std::vector<NormalizedString>{ns};
    });
    const ByteTables& t = byte_tables();
    std::vector<std::pair<char32_t, int>> dest;
    for (Split& s : splits) {
      if (s.is_token) continue;
      const std::string& str = s.ns.get();
      dest.clear();
      for (size_t i = 0, n; i < str.size(); i += n) {
        utf8_decode(str, i, &n);
        for (size_t k = 0; k < n; ++k) dest.push_back({t.to_char[uint8_t(str[i + k])], k ? 1 : 0});
      }
      s.ns.transform(dest, 0);
    }
  }

 private:
  bool prefix_, use_regex_;
  Pattern pattern_;
};

enum class PrependScheme { Always, First, Never };

class Metaspace : public PreTokenizer {
 public:
  Metaspace(std::string replacement, PrependScheme scheme, bool split)
      : rep_(std::move(replacement)), scheme_(scheme), split_(split) {
    space_.literal = " ";
    rep_pattern_.literal = rep_;
  }
  void pre_tokenize(std::vector<Split>& splits) const override {
    split_each(splits, [&](NormalizedString& ns) {
      ns.replace(space_, rep_);
      bool starts = ns.get().compare(0, rep_.size(), rep_) == 0;
      if (!starts && (scheme_ == PrependScheme::Always ||
                      (scheme_ == PrependScheme::First && ns.original_shift() == 0)))
        ns.prepend(rep_);
      if (split_) return ns.split(rep_pattern_, SplitBehavior::MergedWithNext);
      return std::vector<NormalizedString>{ns};
    });
  }

 private:
  std::string rep_;
  PrependScheme scheme_;
  bool split_;
  Pattern space_, rep_pattern_;
};

class BertPre : public PreTokenizer {
 public:
  BertPre() {
    ws_.pred = [](char32_t c) { return is_whitespace(c); };
    punct_.pred = [](char32_t c) {
      bool ascii_punct = c < 0x80 && ((c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) ||
                                      (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E));
      return ascii_punct || is_punctuation(c);
    };
  }
  void pre_tokenize(std::vector<Split>& splits) const override {
    split_each(splits, [&](NormalizedString& ns) { return ns.split(ws_, SplitBehavior::Removed); });
    split_each(splits, [&](NormalizedString& ns) { return ns.split(punct_, SplitBehavior::Isolated); });
  }

 private:
  Pattern ws_, punct_;
};

// Splits every non-token piece with one pattern and behavior (Split, Whitespace, WhitespaceSplit, Digits).
class PatternSplit : public PreTokenizer {
 public:
  PatternSplit(Pattern p, SplitBehavior b) : p_(std::move(p)), b_(b) {}
  void pre_tokenize(std::vector<Split>& splits) const override {
    split_each(splits, [&](NormalizedString& ns) { return ns.split(p_, b_); });
  }

 private:
  Pattern p_;
  SplitBehavior b_;
};

class Sequence : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> v) : v_(std::move(v)) {}
  void pre_tokenize(std::vector<Split>& splits) const override {
    for (const auto& p : v_) p->pre_tokenize(splits);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> v_;
};

SplitBehavior parse_behavior(const std::string& s, const JsonAt& at) {
  if (s == "Removed") return SplitBehavior::Removed;
  if (s == "Isolated") return SplitBehavior::Isolated;
  if (s == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (s == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (s == "Contiguous") return SplitBehavior::Contiguous;
  at.fail("unknown split behavior '" + s + "'");
}

}  // namespace

char32_t byte_to_char(uint8_t b) { return byte_tables().to_char[b]; }

int byte_from_char(char32_t c) {
  if (c < 256) return (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE) ? int(c) : -1;
  static const std::vector<int> rev = [] {
    std::vector<int> r(512, -1);
    for (int b = 0; b < 256; ++b) r[byte_tables().to_char[b]] = b;
    return r;
  }();
  return c < 512 ? rev[c] : -1;
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& j, const JsonAt& at) {
  std::string type = type_of(j, at);
  if (type == "ByteLevel")
    return std::make_unique<ByteLevel>(get_bool(j, "add_prefix_space", true, at), get_bool(j, "use_regex", true, at));
  if (type == "Metaspace") {
    std::string rep = get_string_or(j, "replacement", "\xE2\x96\x81", at);
    if (utf8_chars(rep).size() != 1) (at / "replacement").fail("must be exactly one character");
    PrependScheme scheme = get_bool(j, "add_prefix_space", true, at) ? PrependScheme::Always : PrependScheme::Never;
    if (has(j, "prepend_scheme")) {
      std::string s = get_string(j, "prepend_scheme", at);
      if (s == "always") scheme = PrependScheme::Always;
      else if (s == "first") scheme = PrependScheme::First;
      else if (s == "never") scheme = PrependScheme::Never;
      else (at / "prepend_scheme").fail("unknown prepend scheme '" + s + "'");
    }
    return std::make_unique<Metaspace>(rep, scheme, get_bool(j, "split", true, at));
  }
  if (type == "BertPreTokenizer") return std::make_unique<BertPre>();
  if (type == "WhitespaceSplit") {
    Pattern p;
    p.pred = [](char32_t c) { return is_whitespace(c); };
    return std::make_unique<PatternSplit>(p, SplitBehavior::Removed);
  }
  if (type == "Whitespace") {
    Pattern p;
    p.regex = std::make_shared<const Regex>(R"(\w+|[^\w\s]+)");
    p.invert = true;
    return std::make_unique<PatternSplit>(p, SplitBehavior::Removed);
  }
  if (type == "Digits") {
    Pattern p;
    p.pred = [](char32_t c) { return is_number(c); };
    bool individual = get_bool(j, "individual_digits", false, at);
    return std::make_unique<PatternSplit>(p, individual ? SplitBehavior::Isolated : SplitBehavior::Contiguous);
  }
  if (type == "Split") {
    Pattern p = make_pattern(req(j, "pattern", at), at / "pattern");
    p.invert = get_bool(j, "invert", false, at);
    return std::make_unique<PatternSplit>(p, parse_behavior(get_string(j, "behavior", at), at / "behavior"));
  }
  if (type == "Sequence") {
    const json& arr = get_array(j, "pretokenizers", at);
    std::vector<std::unique_ptr<PreTokenizer>> v;
    for (size_t i = 0; i < arr.size(); ++i) v.push_back(make_pre_tokenizer(arr[i], (at / "pretokenizers")[i]));
    return std::make_unique<Sequence>(std::move(v));
  }
  (at / "type").fail("unsupported pre_tokenizer type '" + type + "'");
}

}  // namespace ps::tok
