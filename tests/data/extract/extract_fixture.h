#pragma once
// A real (tiny) model directory for extraction tests: GPT-2 layout weights (d=32, 2 layers) plus a byte-level
// BPE tokenizer.json with a few merges, and a JSONL corpus of generated Python functions.
#include <cstdint>
#include <string>

#include "data/extract/extract.h"

namespace ps::extract::testing {

// Model dir with config.json, model.safetensors, tokenizer.json (vocab 256 bytes + merges + <|endoftext|>).
std::string tiny_model_dir();
// tiny_model_dir()'s byte-level BPE plus RoBERTa's specials (ids below, so an encoder needs vocab >= 275) and
// its <s> … </s> post-processor, as JSON text: the tokenizer of the encoder tests (pseudo-perplexity, lens).
constexpr int32_t kRobertaBos = 272, kRobertaEos = 273, kRobertaMask = 274;
std::string roberta_tokenizer_json();
// n Python functions of varied length (one with a syntax error when with_bad), one JSONL record each.
std::string write_corpus(const std::string& dir, int n, bool with_bad = false);
// A fresh directory for one test.
std::string temp_dir(const std::string& tag);
// Sensible options for the tiny model: float32 store (exact comparisons), small budget so there are many groups.
ExtractOptions tiny_options(const std::string& model, const std::string& corpus, const std::string& out);
// Canonical text of a store's contents (ids, tokens, words, labels, raw activation and table bytes), without
// the manifest: equal dumps = equal stores. `by_id` sorts snippets by id (shards change the order);
// without `act_bytes` activations are left out (compare them with max_act_diff).
std::string dump_store(const std::string& path, bool by_id = false, bool act_bytes = true);
// Largest absolute difference between two stores' activations, matching snippets by id.
float max_act_diff(const std::string& a, const std::string& b);
// A log file's text, or "" (for failure messages).
std::string read_log(const std::string& path);
// The probescope executable built beside the tests.
std::string probescope_path();

}  // namespace ps::extract::testing
