#pragma once
// The pipeline stages of a HF tokenizer: normalizer -> pre-tokenizer -> model -> post-processor, plus the
// decoder. Each is built from its tokenizer.json object; unknown or unsupported types are InputErrors.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/tokenizer/json_util.h"
#include "models/tokenizer/normalized.h"
#include "models/tokenizer/tokenizer.h"

namespace ps::tok {

// One piece of the input during pre-tokenization; pieces that already are tokens (added tokens) are
// left alone by pre-tokenizers and the model.
struct Split {
  NormalizedString ns;
  bool is_token = false;
  int32_t id = -1;
};

struct Token {
  int32_t id;
  std::string value;
  Span offsets;  // bytes of the string given to Model::tokenize
};

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(NormalizedString& s) const = 0;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void pre_tokenize(std::vector<Split>& splits) const = 0;
};

class Model {
 public:
  virtual ~Model() = default;
  virtual std::vector<Token> tokenize(const std::string& s) const = 0;
  virtual int32_t token_to_id(const std::string& t) const = 0;  // -1 if absent
  virtual std::string id_to_token(int32_t id) const = 0;        // "" if absent
  virtual int32_t vocab_size() const = 0;
  virtual const char* type() const = 0;  // the tokenizer.json model type: "BPE", "WordPiece", "Unigram"
};

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // text: the string given to encode(), whose byte offsets e carries.
  virtual void process(Encoding& e, bool add_special_tokens, const std::string& text) const = 0;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual std::vector<std::string> decode_chain(std::vector<std::string> tokens) const = 0;
};

// Factories: j is the component object, at its location in the file.
std::unique_ptr<Normalizer> make_normalizer(const json& j, const JsonAt& at);
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& j, const JsonAt& at);
std::unique_ptr<Model> make_model(const json& j, const JsonAt& at);
// Post-processors name special tokens; model_vocab resolves them for error checking.
std::unique_ptr<PostProcessor> make_post_processor(const json& j, const JsonAt& at);
std::unique_ptr<Decoder> make_decoder(const json& j, const JsonAt& at);

// Applies f to every non-token split, replacing it by the non-empty pieces f returns (HF
// PreTokenizedString::split).
template <typename F>
void split_each(std::vector<Split>& splits, F&& f) {
  std::vector<Split> out;
  out.reserve(splits.size());
  for (Split& s : splits) {
    if (s.is_token) {
      out.push_back(std::move(s));
      continue;
    }
    for (NormalizedString& piece : f(s.ns))
      if (!piece.empty()) out.push_back(Split{std::move(piece), false, -1});
  }
  splits.swap(out);
}

// Pattern objects as tokenizer.json writes them: {"String": "..."} or {"Regex": "..."}.
Pattern make_pattern(const json& j, const JsonAt& at);

// The GPT-2 byte <-> printable-char table shared by the ByteLevel pre-tokenizer, processor and decoder.
char32_t byte_to_char(uint8_t b);
int byte_from_char(char32_t c);  // -1 if c is not one of the 256 byte chars

}  // namespace ps::tok
