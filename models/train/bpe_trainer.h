#pragma once
// Byte-level BPE training (GPT-2 style), written out as a Hugging Face tokenizer.json.
//
// Algorithm: a port of HF tokenizers' BpeTrainer (models/bpe/trainer.rs), so the same texts give the same
// vocabulary and merges as the Rust library (checked against it by tests/models/train):
//   1. every text is pre-tokenized by the ByteLevel pre-tokenizer (GPT-2 regex, bytes mapped to printable
//      chars, no prefix space) exactly as encoding will split it; pieces are counted as words;
//   2. vocabulary = special tokens (ids 0..), then the alphabet (chars seen, plus all 256 byte chars when
//      byte_alphabet is set so any input encodes) sorted by code point;
//   3. repeatedly merge the most frequent adjacent pair (weighted by word counts); ties go to the pair of
//      smaller ids (left id first), as HF's heap ordering does; stop at vocab_size or when no pair is left.
// Deterministic: no dependence on hash order or threads.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/util/progress.h"

namespace ps::train {

struct BpeOptions {
  int64_t vocab_size = 4096;                           // including special tokens and the alphabet
  std::vector<std::string> special_tokens{"<|endoftext|>"};
  bool byte_alphabet = true;                           // start from all 256 byte chars (no unknown input)
  int64_t min_frequency = 0;                           // a pair seen fewer times is never merged
};

struct BpeModel {
  std::vector<std::string> vocab;                          // id -> token (byte-level chars, UTF-8)
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order
  std::vector<std::string> special_tokens;                  // also vocab[0..n)
  int64_t words = 0, distinct_words = 0;                   // pre-tokenized pieces seen / distinct
};

// Trains on the given texts (one document each). progress counts merges.
BpeModel train_bpe(const std::vector<std::string>& texts, const BpeOptions& opt, Progress* progress = nullptr);

// The tokenizer.json text: ByteLevel pre-tokenizer / post-processor / decoder (GPT-2's settings), BPE
// model, special tokens as added tokens (special, not normalized).
std::string tokenizer_json(const BpeModel& m);

}  // namespace ps::train
