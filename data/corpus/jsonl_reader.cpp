// CodeSearchNet-style JSONL: one object per line; bad lines are reported as file:line and skipped.
#include <cerrno>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "data/corpus/readers.h"
#include "data/syntax/parse.h"

namespace ps::corpus {

namespace {

std::string str_field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A name taken from the record, safe for a one-line problem and the summary table: control characters
// (a "\r" or "\n" escaped in the JSON) become '?', and it is cut to 64 bytes on a UTF-8 boundary.
std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) out += c < 0x20 || c == 0x7f ? '?' : char(c);
  if (out.size() > 64) {
    size_t n = 64;
    while (n > 0 && (static_cast<unsigned char>(out[n]) & 0xC0) == 0x80) --n;
    out = out.substr(0, n) + "...";
  }
  return out;
}

}  // namespace

void read_jsonl(const std::string& file, const ReadOptions& opt, Reporter& rep, const SnippetSink& sink) {
  ++rep.summary().files_seen;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    rep.skip(SkipReason::Unreadable, "", file, std::string("cannot open: ") + std::strerror(errno));
    return;
  }
  std::string line;
  int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const std::string where = file + ":" + std::to_string(lineno);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    size_t bad = 0;
    if (!valid_utf8(line.data(), line.size(), &bad)) {
      rep.skip(SkipReason::BadUtf8, "", where, "invalid UTF-8 at column " + std::to_string(bad + 1));
      continue;
    }
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      rep.skip(SkipReason::BadJson, "", where, "not valid JSON");
      continue;
    }
    if (!j.is_object()) {
      rep.skip(SkipReason::BadJson, "", where, "not a JSON object");
      continue;
    }
    std::string lang = str_field(j, "language");
    if (lang.empty()) {
      if (opt.language == "auto") {
        rep.skip(SkipReason::BadJson, "", where, "no \"language\" field (pass --language)");
        continue;
      }
      lang = opt.language;
    }
    if (lang != "text") {
      try {
        lang = syntax::language_name(syntax::language_from_name(lang));
      } catch (const InputError&) {
        lang = printable(lang);
        rep.skip(SkipReason::Unsupported, lang, where, "unsupported language '" + lang + "'");
        continue;
      }
    }
    if (opt.language != "auto" && lang != opt.language) {
      rep.skip(SkipReason::Excluded, lang, where, "not the selected language " + opt.language, /*quiet=*/true);
      continue;
    }
    auto& counts = rep.summary().languages[lang];
    ++counts.read;
    ++rep.summary().snippets_read;
    auto code_it = j.find("code");
    if (code_it == j.end() || !code_it->is_string()) code_it = j.find("original_string");
    if (code_it == j.end() || !code_it->is_string()) {
      rep.skip(SkipReason::BadJson, lang, where, "no string \"code\" or \"original_string\" field");
      continue;
    }
    std::string code = code_it->get<std::string>();
    if (code.size() > opt.max_file_bytes) {
      rep.skip(SkipReason::TooLarge, lang, where,
               "code has " + std::to_string(code.size()) + " bytes (limit " + std::to_string(opt.max_file_bytes) + ")");
      continue;
    }
    if (auto p = check_text(code, opt.max_line_bytes)) {
      rep.skip(p->reason, lang, where, "code: " + p->message);
      continue;
    }
    Snippet s;
    s.id = str_field(j, "id");
    if (s.id.empty()) s.id = where;
    s.language = lang;
    s.code = std::move(code);
    s.func_name = str_field(j, "func_name");
    s.url = str_field(j, "url");
    s.path = str_field(j, "path");
    s.split = str_field(j, "split");
    sink(std::move(s));
  }
  if (in.bad()) rep.skip(SkipReason::Unreadable, "", file, "read error after line " + std::to_string(lineno));
}

}  // namespace ps::corpus
