#pragma once
// Hugging Face tokenizer.json, reimplemented without LibTorch: byte-level BPE (GPT-2/RoBERTa/CodeGen),
// WordPiece (BERT), SentencePiece-style BPE and Unigram with Metaspace (LLaMA); added/special tokens and
// post-processor templates. Every token carries its span in the input text.
// Offsets are UTF-8 BYTE offsets [begin, end) into the string passed to encode() (Tree-sitter's unit too);
// utf8_char_offsets() converts them to code-point offsets, the unit the HF bindings report.
// Verified token-for-token (ids, strings, offsets) against HF tokenizers 0.23 by tests/models/tokenizer.
// Limits: single sequences only (no pairs, truncation or fixed padding: rejected at load); NFC/NFKC/
// Precompiled normalizers and WordLevel are rejected; Unicode tables are 14.0 (see unicode.h).
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ps::tok {

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<std::string> tokens;
  std::vector<std::pair<int64_t, int64_t>> offsets;  // byte spans; special tokens added by templates get (0,0)
  std::vector<uint8_t> special_mask;                 // 1 for tokens added by the post-processor
};

class Tokenizer {
 public:
  static Tokenizer from_file(const std::string& tokenizer_json_path);  // throws InputError naming the field
  static Tokenizer from_json(const std::string& json_text, const std::string& source_name);

  Encoding encode(const std::string& text, bool add_special_tokens = true) const;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = true) const;

  int32_t vocab_size() const;                      // including added tokens
  std::string model_type() const;                  // "BPE", "WordPiece" or "Unigram"
  int32_t token_to_id(const std::string& t) const; // -1 if absent
  std::string id_to_token(int32_t id) const;       // "" if absent
  int32_t pad_id() const;                          // -1 if the tokenizer has none

  struct Impl;
 private:
  std::shared_ptr<const Impl> impl_;  // immutable after load: encode() is thread-safe
};

// Byte offsets -> Unicode code-point offsets for the same text.
std::vector<std::pair<int64_t, int64_t>> utf8_char_offsets(const std::string& text,
                                                           const std::vector<std::pair<int64_t, int64_t>>& byte_offsets);

}  // namespace ps::tok
