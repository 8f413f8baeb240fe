#pragma once
// RFC 4180 CSV records, for every reader of the project's CSV files (plot tables, probe results): comma-
// separated, "quoted" fields with "" escapes (a quoted field may hold commas, quotes and newlines), LF or
// CRLF line ends; blank lines are skipped.
#include <cstdint>
#include <string>
#include <vector>

namespace ps::csv {

struct Record {
  int64_t line = 0;  // the 1-based line the record starts on
  std::vector<std::string> fields;
};

// InputError("source: line N: unterminated quoted field") when a quote is never closed.
std::vector<Record> parse(const std::string& text, const std::string& source);

}  // namespace ps::csv
