// WordPiece (BERT): greedy longest-match-first over the word, continuation pieces carry the prefix
// ("##"); a word with any unmatchable rest, or longer than max_input_chars_per_word chars, is one unk.
#include "models/tokenizer/unicode.h"
#include "models/tokenizer/detail/vocab.h"

namespace ps::tok {
namespace {

class WordPiece : public Model {
 public:
  WordPiece(const json& j, const JsonAt& at) : vocab_(read_vocab_map(req(j, "vocab", at), at / "vocab")) {
    unk_ = get_string_or(j, "unk_token", "[UNK]", at);
    prefix_ = get_string_or(j, "continuing_subword_prefix", "##", at);
    if (has(j, "max_input_chars_per_word")) {
      int64_t m = get_int(j, "max_input_chars_per_word", at);
      if (m < 0) (at / "max_input_chars_per_word").fail("must be >= 0");
      max_chars_ = size_t(m);
    }
    unk_id_ = vocab_.token_to_id(unk_);
    if (unk_id_ < 0) (at / "unk_token").fail("'" + unk_ + "' is not in model.vocab");
  }

  std::vector<Token> tokenize(const std::string& s) const override {
    if (utf8_chars(s).size() > max_chars_) return {Token{unk_id_, unk_, {0, s.size()}}};
    std::vector<Token> out;
    size_t start = 0;
    std::string sub;
    while (start < s.size()) {
      size_t end = s.size();
      bool found = false;
      while (start < end) {
        sub.clear();
        if (start > 0) sub = prefix_;
        sub.append(s, start, end - start);
        int32_t id = vocab_.token_to_id(sub);
        if (id >= 0) {
          out.push_back(Token{id, sub, {start, end}});
          found = true;
          break;
        }
        // Drop the last char of the candidate.
        size_t k = end - 1;
        while (k > start && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
        end = k;
      }
      if (!found) return {Token{unk_id_, unk_, {0, s.size()}}};
      start = end;
    }
    return out;
  }

  int32_t token_to_id(const std::string& t) const override { return vocab_.token_to_id(t); }
  std::string id_to_token(int32_t id) const override { return vocab_.id_to_token(id); }
  int32_t vocab_size() const override { return vocab_.size(); }
  const char* type() const override { return "WordPiece"; }

 private:
  Vocab vocab_;
  std::string unk_, prefix_;
  int32_t unk_id_ = -1;
  size_t max_chars_ = 100;
};

}  // namespace

std::unique_ptr<Model> make_wordpiece(const json& j, const JsonAt& at) { return std::make_unique<WordPiece>(j, at); }

}  // namespace ps::tok
