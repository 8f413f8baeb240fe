#pragma once
// A corpus entry in CodeSearchNet form, and the bookkeeping every reader shares: skip reasons, the
// problems reported (one line each, naming the file) and the per-language / per-reason summary.
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace ps::corpus {

struct Snippet {
  std::string id, language, code, func_name, url, path;
  std::string split;  // "train", "valid", "test" once assigned; "" before
};

// Why an input (a file, a JSONL line or a snippet) was not kept. Each has a stable lower-case name.
enum class SkipReason {
  Unreadable,     // missing, permission denied, not a regular file, I/O error
  Empty,          // empty or whitespace-only
  Binary,         // contains a NUL byte
  BadUtf8,        // not valid UTF-8
  TooLarge,       // file/code larger than max_file_bytes
  LongLine,       // a line longer than max_line_bytes (minified or generated code)
  Unsupported,    // no parser for the extension / language
  Excluded,       // excluded by a glob or by the selected --language
  BadJson,        // a JSONL line that is not a JSON object with a code field
  NoFunctions,    // --functions: a file with no function definitions
  ParseError,     // Tree-sitter reported ERROR/MISSING nodes (or the parse was refused)
  TooManyTokens,  // > max_tokens
  TooFewTokens,   // < min_tokens
  Duplicate,      // same normalized code as a kept snippet
  OverCap,        // beyond --max-train/--max-valid/--max-test
};
inline constexpr int kNumSkipReasons = 15;
const char* reason_name(SkipReason r);

struct Problem {
  SkipReason reason;
  std::string where;    // "file", "file:line" or "file:line:function"
  std::string message;  // one line: "where: problem"
};

struct LanguageCounts {
  int64_t files = 0;     // source files read for this language
  int64_t read = 0;      // snippets produced before filtering
  int64_t kept = 0;      // snippets written
  std::array<int64_t, 3> splits{};  // kept per train/valid/test
  std::map<SkipReason, int64_t> skipped;
};

struct Summary {
  int64_t files_seen = 0;   // every file considered (including skipped ones)
  int64_t snippets_read = 0;
  int64_t kept = 0;
  std::array<int64_t, 3> splits{};
  std::map<SkipReason, int64_t> skipped;          // totals per reason
  std::map<std::string, LanguageCounts> languages;  // "" collects skips whose language is unknown
  std::vector<Problem> problems;                  // the first max_problems, in the order found
  size_t max_problems = 1000;
  int64_t problems_dropped = 0;

  int64_t skipped_total() const;
  std::string format() const;       // multi-line human-readable table
  // One line for an error that every record was skipped: "skipped 3 (long_line 2, too_large 1); first:
  // <the first problem>", or "" when nothing was skipped.
  std::string skip_digest() const;
  nlohmann::json to_json() const;
};

// Records skips in a Summary and hands each problem to an optional sink (e.g. one line on stderr).
class Reporter {
 public:
  explicit Reporter(Summary& s, std::function<void(const Problem&)> sink = {}) : summary_(s), sink_(std::move(sink)) {}
  // Counts the reason (total and for `language`, may be ""); reports a problem unless `quiet`.
  void skip(SkipReason r, const std::string& language, const std::string& where, const std::string& problem,
            bool quiet = false);
  Summary& summary() { return summary_; }

 private:
  Summary& summary_;
  std::function<void(const Problem&)> sink_;
};

}  // namespace ps::corpus
