#include "data/store/layout.h"

#include <cctype>

#include <nlohmann/json.hpp>

#include "models/util/error.h"

namespace ps::store::layout {

bool is_reserved_attr(const std::string& n) {
  return n == kAttrFormat || n == kAttrVersion || n == kAttrCommitted || n == kAttrComplete || n == kAttrManifest ||
         n == kAttrSchema || n == kAttrUid;
}

void check_name(const std::string& file, const std::string& what, const std::string& name, bool allow_slash) {
  bool ok = !name.empty() && name.front() != '/' && name.back() != '/' && name.find("//") == std::string::npos;
  for (char ch : name)
    ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-' ||
                (allow_slash && ch == '/'));
  if (ok && (name == "." || name == ".." || name.find("/./") != std::string::npos ||
             name.find("/../") != std::string::npos))
    ok = false;
  if (!ok) throw InputError(where(file, "invalid " + what + " name '" + name + "'"));
}

namespace {
nlohmann::json col_json(const Schema::Col& c) { return {{"dtype", dtype_name(c.type)}, {"width", c.width}}; }
Schema::Col col_of(const nlohmann::json& j) { return {parse_dtype(j.at("dtype").get<std::string>()), j.at("width").get<int64_t>()}; }
std::string col_str(const Schema::Col& c) { return std::string(dtype_name(c.type)) + " x " + std::to_string(c.width); }
}  // namespace

std::string Schema::to_json() const {
  nlohmann::json j;
  j["syntax"] = syntax;
  j["acts"] = nlohmann::json::object();
  for (const auto& [n, a] : acts) {
    nlohmann::json e = col_json(a.col);
    e["rows"] = rows_name(a.rows);
    j["acts"][n] = e;
  }
  j["tables"] = nlohmann::json::object();
  for (const auto& [t, cols] : tables) {
    nlohmann::json e = nlohmann::json::object();
    for (const auto& [c, col] : cols) e[c] = col_json(col);
    j["tables"][t] = e;
  }
  return j.dump();
}

Schema Schema::from_json(const std::string& file, const std::string& text) {
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    Schema s;
    s.syntax = j.at("syntax").get<bool>();
    for (const auto& [n, e] : j.at("acts").items()) {
      std::string r = e.at("rows").get<std::string>();
      if (r != "tokens" && r != "words") throw InputError("rows '" + r + "'");
      s.acts[n] = Act{r == "tokens" ? Rows::tokens : Rows::words, col_of(e)};
    }
    for (const auto& [t, cols] : j.at("tables").items())
      for (const auto& [c, e] : cols.items()) s.tables[t][c] = col_of(e);
    return s;
  } catch (const std::exception& e) {
    throw InputError(where(file, std::string("attribute schema_json malformed: ") + e.what()));
  }
}

Schema Schema::of_batch(const SnippetBatch& b) {
  Schema s;
  s.syntax = b.with_syntax;
  for (const auto& [n, a] : b.acts) s.acts[n] = Act{a.rows, Col{a.store, a.data.width}};
  for (const auto& [t, tb] : b.tables)
    for (const auto& [c, blk] : tb.columns) s.tables[t][c] = Col{blk.type, blk.width};
  return s;
}

std::string Schema::diff(const Schema& f) const {
  if (syntax != f.syntax)
    return std::string("batch ") + (syntax ? "has" : "lacks") + " syntax labels, the store " + (f.syntax ? "has" : "lacks") + " them";
  for (const auto& [n, a] : acts) {
    auto it = f.acts.find(n);
    if (it == f.acts.end()) return "activation '" + n + "' is not in the store (the first batch fixes the set)";
    if (!(it->second == a))
      return "activation '" + n + "' is " + rows_name(a.rows) + " " + col_str(a.col) + " in the batch but " +
             rows_name(it->second.rows) + " " + col_str(it->second.col) + " in the store";
  }
  for (const auto& [n, a] : f.acts)
    if (!acts.count(n)) return "batch lacks activation '" + n + "'";
  for (const auto& [t, cols] : tables) {
    auto it = f.tables.find(t);
    if (it == f.tables.end()) return "table '" + t + "' is not in the store (the first batch fixes the set)";
    for (const auto& [c, col] : cols) {
      auto jt = it->second.find(c);
      if (jt == it->second.end()) return "table '" + t + "' has no column '" + c + "' in the store";
      if (!(jt->second == col))
        return "column " + t + "/" + c + " is " + col_str(col) + " in the batch but " + col_str(jt->second) + " in the store";
    }
    for (const auto& [c, col] : it->second)
      if (!cols.count(c)) return "batch lacks column " + t + "/" + c;
  }
  for (const auto& [t, cols] : f.tables)
    if (!tables.count(t)) return "batch lacks table '" + t + "'";
  return "";
}

}  // namespace ps::store::layout
