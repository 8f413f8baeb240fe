#pragma once
// The small text grammars of settings: comma lists of integers, numbers and names, as given on a command
// line, in a study file or in a GUI field. One place, so every face reports a bad value the same way:
// "<setting>: '<item>' is not an integer" (an InputError, exit code 2), never a bare "stoi".
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ps::spec {

// "a, b,c" → {"a","b","c"} (items trimmed of blanks). "" → {}. An empty item ("a,,b", "a,") is an error.
std::vector<std::string> split_list(std::string_view text, std::string_view setting, char sep = ',');

// One integer in [min, max]; the whole item must be the number (no "12abc", no "1e3").
int64_t to_int(std::string_view item, std::string_view setting, int64_t min = std::numeric_limits<int64_t>::min(),
               int64_t max = std::numeric_limits<int64_t>::max());
// One finite number.
double to_number(std::string_view item, std::string_view setting);

// Non-empty lists of the above.
std::vector<int64_t> int_list(std::string_view text, std::string_view setting,
                              int64_t min = std::numeric_limits<int64_t>::min(),
                              int64_t max = std::numeric_limits<int64_t>::max());
std::vector<double> number_list(std::string_view text, std::string_view setting);

// Per-name counts: "N" → {"": N} (every name), "a=3,b=5" → {a: 3, b: 5}; each count >= min, no name twice.
// (extract --limit-per-split and the study's limit_per_split, so both reject the same text the same way.)
std::map<std::string, int64_t> named_counts(std::string_view text, std::string_view setting, int64_t min = 0);

// Non-throwing form for callers that try an integer before another reading (an id or an index).
bool try_int(std::string_view item, int64_t& out);

// Attention-mask modes, for the forward (--mask) and for mask pictures (plot mask):
//   default | causal | bidirectional | packed:LEN,LEN,...[:causal|bidirectional]
//   lm-infinite:G:L[:LIMIT|none] (G global keys, L local window, rotary distance cap LIMIT >= L, default L;
//   none = the Λ mask alone) | window:W[:causal|bidirectional]
struct MaskSpec {
  enum class Kind { Default, Causal, Bidirectional, LmInfinite, Window };
  Kind kind = Kind::Default;
  int64_t n_global = 0, local = 0;  // lm-infinite
  int64_t limit = 0;                // lm-infinite distance cap (>= local; defaults to local); 0 = none
  int64_t window = 0;               // window
  int direction = 0;                // window/packed: +1 causal, -1 bidirectional, 0 = the model family's
  std::vector<int64_t> packed;      // packed sequence lengths (pictures only)
};
MaskSpec parse_mask(std::string_view text, std::string_view setting = "--mask");

}  // namespace ps::spec
