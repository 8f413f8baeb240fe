#pragma once
// What boundary alignment needs from a tokenizer.json: its kind (for the default mode) and a continuation
// twin that encodes a piece of text that does not start the text.
//
// Why a twin: a Metaspace pre-tokenizer (prepend_scheme always/first), a Prepend("▁") normalizer (LLaMA-2) or
// ByteLevel with add_prefix_space puts a "▁"/" " before every text it encodes. Encoding the pieces after the
// first with the real tokenizer would change the text (`foo(` would become `foo▁(`). The twin is the same
// tokenizer.json with those prefix rules switched off (and Strip/Append normalizers, which act on the ends of
// the whole text, dropped), so concatenated pieces read exactly the original text.
#include <string>

#include "data/align/align.h"
#include "models/tokenizer/tokenizer.h"

namespace ps::align {

struct TokenizerTraits {
  bool byte_level = false;  // a ByteLevel pre-tokenizer (GPT-2, RoBERTa, CodeGen, Llama-3)
  bool metaspace = false;   // a Metaspace pre-tokenizer or a Replace(" " -> "▁") normalizer (SentencePiece)
};

// InputError naming `source` when the text is not a tokenizer.json object.
TokenizerTraits tokenizer_traits(const std::string& json_text, const std::string& source);
// Boundary for byte-level BPE and Metaspace tokenizers (their subwords carry the space before a word, and a
// merged "():" otherwise crosses words); Offsets for the rest (WordPiece splits on punctuation already).
Mode default_mode(const TokenizerTraits& t);
// "auto" resolves to default_mode(t); anything else is mode_from_name.
Mode resolve_mode(const std::string& name, const TokenizerTraits& t);

// The continuation twin (see above), from tokenizer.json text.
tok::Tokenizer continuation_tokenizer(const std::string& json_text, const std::string& source);

// Both from a tokenizer.json file (InputError naming the file when it cannot be read).
std::string read_tokenizer_json(const std::string& path);

}  // namespace ps::align
