#pragma once
// Deterministic train/validation/test assignment: a seeded 64-bit hash of each snippet's key (its normalized
// code by default, or its id) picks the split, so the result depends on neither input order nor corpus size.
#include <array>
#include <cstdint>
#include <string>

namespace ps::corpus {

inline const char* const kSplitNames[3] = {"train", "valid", "test"};

enum class SplitKey { Content, Id };

struct SplitOptions {
  uint64_t seed = 123;
  std::array<double, 3> fractions{0.8, 0.1, 0.1};  // normalized to sum to 1
  // At most this many per split (-1 = all): the snippets with the smallest hashes are kept, which is a seeded
  // uniform sample. The paper's 20,000 / 2,000 / 4,000 are --max-train 20000 --max-valid 2000 --max-test 4000.
  std::array<int64_t, 3> max_count{-1, -1, -1};
  SplitKey key = SplitKey::Content;
};

// "0.8,0.1,0.1": three non-negative numbers with a positive sum, normalized. Throws InputError otherwise.
std::array<double, 3> parse_fractions(const std::string& text);

// Whitespace runs collapsed to one space, ends trimmed: what duplicate detection and the content key compare.
std::string normalize_code(const std::string& code);

// FNV-1a over the bytes, finalized with the seed by a splitmix64 round: stable across platforms and runs.
uint64_t hash64(const std::string& data, uint64_t seed);

// The split for a hash: u = top 53 bits / 2^53 against the cumulative fractions.
int split_for_hash(uint64_t h, const std::array<double, 3>& fractions);

}  // namespace ps::corpus
