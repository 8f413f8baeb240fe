#pragma once
// Deterministic synthetic stores for the store tests: snippet k's content is a pure function of k,
// so a store written in any batching / interruption / sharding must come out identical.
#include <string>

#include "data/store/reader.h"
#include "data/store/types.h"
#include "data/store/writer.h"

namespace ps::store::testing {

// Activations in every batch: tokens/layer_0 float32 (d=5), tokens/layer_1 float16 (d=8),
// words/layer_1 bfloat16 (d=6); extra tables "structural" (parent int64, depth float32) and
// attn_table(1) (pattern float32, 2 heads); syntax labels.
inline constexpr int kHeads = 2;

// Snippets [first, first+count); snippet k (k % 17 == 3) is empty (no tokens, no words).
SnippetBatch make_batch(int64_t first, int64_t count);
// The float32 value generator behind the activations (before fp16/bf16 rounding).
float act_value(int64_t snippet, int64_t row, int64_t col, int salt);

Manifest base_manifest(const std::string& settings_hash = "settings-1");

// Writes snippets [first, first+count) in batches of `batch`, committing each; finish() if `finish`.
void write_range(StoreWriter& w, int64_t first, int64_t count, int64_t batch);
void write_store(const std::string& path, int64_t n, int64_t batch, const WriterOptions& o = {},
                 const Manifest& m = base_manifest());

// Canonical text of everything readable (ids, tokens, words, labels as strings, raw activation bits,
// tables): equal dumps = equal stores. Excludes the manifest.
std::string dump(const std::string& path);
// "path shape" lines of every dataset's physical extent, to prove no uncommitted tail survives.
std::string extents(const std::string& path);

// A fresh empty directory under the build tree for one test.
std::string temp_dir(const std::string& test_name);

}  // namespace ps::store::testing
