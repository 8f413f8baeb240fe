#include "data/corpus/load.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "models/util/error.h"

namespace ps::corpus {

Loaded load(const std::string& path, const LoadOptions& opt) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw InputError(where(path, "no such corpus file"));
  Loaded out;
  Reporter rep(out.summary, opt.on_problem);
  read_jsonl(path, opt.read, rep, [&](Snippet&& s) { out.snippets.push_back(std::move(s)); });
  if (opt.require_snippets && out.snippets.empty()) {
    const std::string why = out.summary.skip_digest();
    throw InputError(where(path, "no usable snippets" + (why.empty() ? std::string(" (no records)") : " (" + why + ")")));
  }
  return out;
}

Snippet find(const std::string& path, const std::string& id) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(where(path, "cannot open"));
  // Lines without the id's text are skipped before parsing, unless JSON could have escaped it.
  bool filter = true;
  for (unsigned char ch : id) filter = filter && ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\' && ch != '/';
  const auto text = [](const nlohmann::json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string line;
  for (int64_t lineno = 1; std::getline(f, line); ++lineno) {
    if (filter && line.find(id) == std::string::npos) continue;
    try {
      const nlohmann::json j = nlohmann::json::parse(line);
      if (!j.is_object() || text(j, "id") != id) continue;
      Snippet s;
      s.id = id;
      s.code = j.contains("code") ? j["code"].get<std::string>() : j.at("original_string").get<std::string>();
      s.language = text(j, "language"), s.func_name = text(j, "func_name"), s.url = text(j, "url");
      s.path = text(j, "path"), s.split = text(j, "split");
      return s;
    } catch (const nlohmann::json::exception& e) {
      throw InputError(path + ":" + std::to_string(lineno) + ": " + e.what());
    }
  }
  throw InputError(where(path, "no record with id '" + id + "'"));
}

}  // namespace ps::corpus
