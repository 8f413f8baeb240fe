#pragma once
// Typed access to tokenizer.json fields; every failure is an InputError "file: field.path: problem".
#include <nlohmann/json.hpp>

#include <string>

#include "models/util/error.h"

namespace ps::tok {

using json = nlohmann::json;

// Where we are in the file, for error messages: the file name and the JSON path of the current object.
struct JsonAt {
  std::string file;
  std::string path;

  JsonAt operator/(const std::string& key) const { return {file, path.empty() ? key : path + "." + key}; }
  JsonAt operator[](size_t i) const { return {file, path + "[" + std::to_string(i) + "]"}; }
  // Keys and tokens may hold newlines or other control bytes: escaped, so the message stays one line.
  [[noreturn]] void fail(const std::string& problem) const {
    std::string msg;
    for (unsigned char c : (path.empty() ? std::string("<root>") : path) + ": " + problem) {
      if (c >= 0x20 && c != 0x7f) {
        msg += char(c);
        continue;
      }
      static const char* hex = "0123456789abcdef";
      msg += std::string("\\x") + hex[c >> 4] + hex[c & 15];
    }
    throw InputError(where(file, msg));
  }
};

inline const char* json_type(const json& j) { return j.type_name(); }

inline const json& req(const json& obj, const char* key, const JsonAt& at) {
  if (!obj.is_object()) at.fail(std::string("expected an object, got ") + json_type(obj));
  auto it = obj.find(key);
  if (it == obj.end()) (at / key).fail("missing");
  return *it;
}

inline bool has(const json& obj, const char* key) {
  return obj.is_object() && obj.contains(key) && !obj.at(key).is_null();
}

inline bool get_bool(const json& obj, const char* key, bool def, const JsonAt& at) {
  if (!has(obj, key)) return def;
  const json& v = obj.at(key);
  if (!v.is_boolean()) (at / key).fail(std::string("expected a boolean, got ") + json_type(v));
  return v.get<bool>();
}

inline std::string get_string(const json& obj, const char* key, const JsonAt& at) {
  const json& v = req(obj, key, at);
  if (!v.is_string()) (at / key).fail(std::string("expected a string, got ") + json_type(v));
  return v.get<std::string>();
}

inline std::string get_string_or(const json& obj, const char* key, const std::string& def, const JsonAt& at) {
  return has(obj, key) ? get_string(obj, key, at) : def;
}

inline int64_t get_int(const json& obj, const char* key, const JsonAt& at) {
  const json& v = req(obj, key, at);
  if (!v.is_number_integer()) (at / key).fail(std::string("expected an integer, got ") + json_type(v));
  return v.get<int64_t>();
}

inline const json& get_array(const json& obj, const char* key, const JsonAt& at) {
  const json& v = req(obj, key, at);
  if (!v.is_array()) (at / key).fail(std::string("expected an array, got ") + json_type(v));
  return v;
}

// The "type" tag of a component object.
inline std::string type_of(const json& obj, const JsonAt& at) { return get_string(obj, "type", at); }

}  // namespace ps::tok
