#pragma once
// Fixtures for the SAID tests: a GPT-2-shaped model of a few thousand parameters, a synthetic separable
// classification task, and a byte-level tokenizer.json (256 byte tokens, no merges).
#include <memory>
#include <string>

#include "analysis/said/tasks.h"
#include "models/transformer/transformer.h"

namespace ps::said::test {

// vocab 16, d_model 16, 1 layer, 2 heads, d_ff 32, 16 positions: 2,768 parameters.
models::ArchSpec tiny_arch(int64_t vocab = 16);
std::shared_ptr<const models::Transformer> tiny_model(uint64_t seed = 7, int64_t vocab = 16);

// Sequences of 4..10 tokens from [2, vocab); label 1 iff token 3 occurs (half of each split). Seeded.
TaskData marker_task(int64_t n_train, int64_t n_valid, uint64_t seed = 11, int64_t vocab = 16);

// GPT-2-style byte-level BPE with the 256 byte symbols and no merges: every UTF-8 byte is one token.
std::string byte_tokenizer_json();

std::string temp_dir(const std::string& tag);

}  // namespace ps::said::test
