#pragma once
// Internal to the schema parser (schema*.cpp): a TOML table with typed getters whose errors name the file,
// line and key, and a check for keys the schema does not know.
#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "models/util/error.h"

namespace ps::study::detail {

namespace fs = std::filesystem;

// One table of the file: typed getters that name the key and its line, and a check that no key was misspelt.
class Table {
 public:
  Table(const toml::table& t, std::string file, std::string prefix) : t_(t), file_(std::move(file)), prefix_(std::move(prefix)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& problem, const toml::node* at = nullptr) const {
    const toml::node* n = at ? at : t_.get(key);
    const int line = n ? static_cast<int>(n->source().begin.line) : static_cast<int>(t_.source().begin.line);
    // A value given by `--set KEY=VALUE` (schema_set.cpp) is named by that option instead of a line of the file.
    const auto& from = (n ? n : &t_)->source().path;
    if (from && from->rfind("--set ", 0) == 0) throw InputError(*from + ": " + prefix_ + key + ": " + problem);
    throw InputError(file_ + ":" + std::to_string(line) + ": " + prefix_ + key + ": " + problem);
  }
  bool has(const std::string& key) const { return t_.contains(key); }

  std::string str(const std::string& key, std::string def) {
    used_.insert(key);
    const toml::node* n = t_.get(key);
    if (!n) return def;
    if (!n->is_string()) fail(key, "expected a string");
    return std::string(*n->value<std::string>());
  }
  int64_t integer(const std::string& key, int64_t def, int64_t lo, int64_t hi) {
    used_.insert(key);
    const toml::node* n = t_.get(key);
    if (!n) return def;
    if (!n->is_integer()) fail(key, "expected an integer");
    const int64_t v = *n->value<int64_t>();
    if (v < lo || v > hi) fail(key, std::to_string(v) + " is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return v;
  }
  double number(const std::string& key, double def) {
    used_.insert(key);
    const toml::node* n = t_.get(key);
    if (!n) return def;
    if (!n->is_number()) fail(key, "expected a number");
    return *n->value<double>();
  }
  bool boolean(const std::string& key, bool def) {
    used_.insert(key);
    const toml::node* n = t_.get(key);
    if (!n) return def;
    if (!n->is_boolean()) fail(key, "expected true or false");
    return *n->value<bool>();
  }
  std::vector<std::string> strings(const std::string& key, std::vector<std::string> def) {
    used_.insert(key);
    const toml::node* n = t_.get(key);
    if (!n) return def;
    const toml::array* a = n->as_array();
    if (!a) fail(key, "expected an array of strings");
    std::vector<std::string> out;
    for (const auto& e : *a) {
      if (!e.is_string()) fail(key, "expected an array of strings", &e);
      out.push_back(std::string(*e.value<std::string>()));
    }
    return out;
  }
  std::vector<int> ints(const std::string& key, std::vector<int> def, int lo) {
    used_.insert(key);
    const toml::node* n = t_.get(key);
    if (!n) return def;
    std::vector<int> out;
    if (n->is_integer()) {
      out.push_back(static_cast<int>(*n->value<int64_t>()));
    } else if (const toml::array* a = n->as_array()) {
      for (const auto& e : *a) {
        if (!e.is_integer()) fail(key, "expected an integer or an array of integers", &e);
        out.push_back(static_cast<int>(*e.value<int64_t>()));
      }
    } else {
      fail(key, "expected an integer or an array of integers");
    }
    if (out.empty()) fail(key, "is empty");
    for (int v : out)
      if (v < lo) fail(key, std::to_string(v) + " is below " + std::to_string(lo));
    return out;
  }
  std::string one_of(const std::string& key, std::string def, const std::vector<std::string>& allowed) {
    std::string v = str(key, def);
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      fail(key, "'" + v + "' is not one of " + list);
    }
    return v;
  }
  // A key given here but not read by the schema: a typo or an unsupported option.
  void check_unknown() const {
    for (const auto& [k, v] : t_)
      if (!used_.count(std::string(k.str()))) fail(std::string(k.str()), "unknown key", &v);
  }
  void use(const std::string& key) { used_.insert(key); }

 private:
  const toml::table& t_;
  std::string file_, prefix_;
  std::set<std::string> used_;
};

inline std::string resolve(const std::string& base, const std::string& p) {
  if (p.empty()) return p;
  return fs::absolute(fs::path(p).is_absolute() ? fs::path(p) : fs::path(base) / p).lexically_normal().string();
}

// The tables of an array-of-tables key ([[model]]), each with its own prefix "model[i].".
inline std::vector<const toml::table*> table_array(Table& root, const toml::table& doc, const std::string& key) {
  root.use(key);
  std::vector<const toml::table*> out;
  const toml::node* n = doc.get(key);
  if (!n) return out;
  const toml::array* a = n->as_array();
  if (!a) root.fail(key, "expected [[" + key + "]] tables");
  for (const auto& e : *a) {
    if (!e.is_table()) root.fail(key, "expected [[" + key + "]] tables", &e);
    out.push_back(e.as_table());
  }
  return out;
}

// `--set KEY=VALUE` on the parsed file, before validation (schema_set.cpp). KEY: `TABLE.KEY`, `ARRAY.KEY` (every
// table of an [[ARRAY]]) or `ARRAY[i].KEY`; VALUE: TOML (80, [8, 16], true, "x") or else a plain string.
void apply_override(toml::table& doc, const std::string& arg);

inline const toml::table* sub_table(Table& root, const toml::table& doc, const std::string& key) {
  root.use(key);
  const toml::node* n = doc.get(key);
  if (!n) return nullptr;
  if (!n->is_table()) root.fail(key, "expected a [" + key + "] table");
  return n->as_table();
}

}  // namespace ps::study::detail
