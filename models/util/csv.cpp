#include "models/util/csv.h"

#include "models/util/error.h"

namespace ps::csv {

std::vector<Record> parse(const std::string& text, const std::string& source) {
  std::vector<Record> out;
  Record rec{1, {}};
  std::string cell;
  bool quoted = false, any = false;
  int64_t line = 1, quote_line = 0;
  auto end_record = [&] {
    if (any || !cell.empty() || !rec.fields.empty()) {
      rec.fields.push_back(std::move(cell));
      out.push_back(std::move(rec));
    }
    rec = Record{line + 1, {}};
    cell.clear();
    any = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        cell += c;
      }
    } else if (c == '"') {
      quoted = true;
      any = true;
      quote_line = line;
    } else if (c == ',') {
      rec.fields.push_back(std::move(cell));
      cell.clear();
      any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_record();
      ++line;
    } else {
      cell += c;
    }
  }
  if (quoted) throw InputError(where(source, "line " + std::to_string(quote_line) + ": unterminated quoted field"));
  end_record();
  return out;
}

}  // namespace ps::csv
