// `study run|plan --set KEY=VALUE`: one setting of the study file changed for one run, applied to the parsed
// TOML before it is validated, so an override is checked exactly like the file's own keys (and hashed like
// them: a changed limit is a different extract task, with its own store).
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "models/util/error.h"

namespace ps::study::detail {

namespace {

struct Segment {
  std::string name;
  long index = -1;  // KEY[i]: only the i-th table of an array of tables
};

[[noreturn]] void bad(const std::string& arg, const std::string& problem) { throw InputError("--set " + arg + ": " + problem); }

std::vector<Segment> parse_key(const std::string& arg, const std::string& key) {
  std::vector<Segment> segs;
  size_t at = 0;
  while (at <= key.size()) {
    const size_t dot = key.find('.', at);
    std::string part = key.substr(at, dot == std::string::npos ? std::string::npos : dot - at);
    Segment s;
    if (const auto lb = part.find('['); lb != std::string::npos) {
      if (part.back() != ']' || lb + 2 > part.size() - 1) bad(arg, "'" + part + "': expected NAME[INDEX]");
      const std::string digits = part.substr(lb + 1, part.size() - lb - 2);
      if (digits.find_first_not_of("0123456789") != std::string::npos) bad(arg, "'" + part + "': the index is not a number");
      s.index = std::stol(digits);
      part = part.substr(0, lb);
    }
    if (part.empty() || part.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != std::string::npos)
      bad(arg, "'" + key + "': expected KEY, TABLE.KEY or TABLE[INDEX].KEY");
    s.name = part;
    segs.push_back(s);
    if (dot == std::string::npos) break;
    at = dot + 1;
  }
  if (segs.back().index >= 0) bad(arg, "the last part of the key cannot be indexed");
  return segs;
}

// `text` parsed as one TOML document; every node it holds has source path "--set ARG" (schema errors name it).
toml::table parse_snippet(const std::string& arg, const std::string& text) {
  try {
    return toml::parse(text, "--set " + arg);
  } catch (const toml::parse_error&) {
    return {};
  }
}

// The value as TOML text: as given when it parses (80, 1.5, true, [8, 16], "x"), else quoted as a plain string
// (so `--set study.name=demo` works).
std::string value_text(const std::string& arg, const std::string& value) {
  if (parse_snippet(arg, "v = " + value).contains("v")) return value;
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  quoted += '"';
  if (!parse_snippet(arg, "v = " + quoted).contains("v")) bad(arg, "the value is neither TOML nor a plain string");
  return quoted;
}

void set_in(toml::table& t, const std::vector<Segment>& segs, size_t i, const std::string& arg, const std::string& value,
            const std::string& path) {
  const Segment& s = segs[i];
  const std::string here = path + (path.empty() ? "" : ".") + s.name;
  if (i + 1 == segs.size()) {
    toml::table doc = parse_snippet(arg, "v = " + value);
    t.insert_or_assign(s.name, std::move(*doc.get("v")));
    return;
  }
  toml::node* n = t.get(s.name);
  if (!n) {
    if (s.index >= 0) bad(arg, here + ": no such array of tables in the study");
    // A table the file lacks ([extract] in a file without one): made from dotted keys, so its keys are checked
    // by the schema like the file's and an error names this --set.
    std::string dotted;
    for (size_t j = i; j < segs.size(); ++j) {
      if (segs[j].index >= 0) bad(arg, here + ": no such array of tables in the study");
      dotted += (dotted.empty() ? "" : ".") + segs[j].name;
    }
    toml::table doc = parse_snippet(arg, dotted + " = " + value);
    t.insert_or_assign(s.name, std::move(*doc.get(s.name)));
    return;
  }
  if (toml::table* sub = n->as_table()) {
    if (s.index >= 0) bad(arg, here + " is a table, not an array of tables");
    set_in(*sub, segs, i + 1, arg, value, here);
    return;
  }
  toml::array* a = n->as_array();
  if (!a || !a->is_array_of_tables()) bad(arg, here + " is a value, not a table");
  if (s.index >= static_cast<long>(a->size())) bad(arg, here + ": index " + std::to_string(s.index) + " beyond its " + std::to_string(a->size()) + " tables");
  for (size_t j = 0; j < a->size(); ++j)  // no index: every table of the array ([[corpus]] limit for each corpus)
    if (s.index < 0 || static_cast<long>(j) == s.index) set_in(*(*a)[j].as_table(), segs, i + 1, arg, value, here);
}

}  // namespace

void apply_override(toml::table& doc, const std::string& arg) {
  const auto eq = arg.find('=');
  if (eq == std::string::npos || eq == 0) bad(arg, "expected KEY=VALUE (e.g. corpus.limit=80)");
  if (arg.find_first_of("\r\n") != std::string::npos) bad(arg, "a line break in the setting");
  const auto segs = parse_key(arg, arg.substr(0, eq));
  set_in(doc, segs, 0, arg, value_text(arg, arg.substr(eq + 1)), "");
}

}  // namespace ps::study::detail
