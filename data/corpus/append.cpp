#include "data/corpus/append.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/corpus/readers.h"
#include "data/syntax/parse.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::corpus {

namespace {

std::string default_id(const std::string& code) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : code) h = (h ^ c) * 1099511628211ull;
  char buf[32];
  std::snprintf(buf, sizeof buf, "scratchpad-%016llx", (unsigned long long)h);
  return buf;
}

// Held for the whole read-modify-rename, so concurrent appenders serialise instead of overwriting each other.
class FileLock {
 public:
  explicit FileLock(const std::string& path) : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_ < 0 || ::flock(fd_, LOCK_EX) != 0) throw InputError(path + ": cannot lock the corpus for appending");
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

bool holds_id(const std::string& text, const std::string& id) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("id") && j["id"].is_string() && j["id"].get<std::string>() == id) return true;
  }
  return false;
}

}  // namespace

std::string append_snippet(const std::string& path, Snippet s, size_t max_line_bytes) {
  if (s.language != "text") {
    try {
      s.language = syntax::language_name(syntax::language_from_name(s.language));
    } catch (const InputError&) {
      throw InputError(path + ": cannot save the snippet: unsupported language '" + s.language + "'");
    }
  }
  if (auto p = check_text(s.code, max_line_bytes))
    throw InputError(path + ": cannot save the snippet: code: " + p->message);
  if (s.id.empty()) s.id = default_id(s.code);
  nlohmann::json j = {{"id", s.id}, {"language", s.language}, {"code", s.code}};
  for (auto [key, value] : {std::pair{"func_name", &s.func_name}, {"path", &s.path}, {"url", &s.url}, {"split", &s.split}})
    if (!value->empty()) j[key] = *value;
  const std::string record = j.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::strict) + "\n";

  FileLock lock(path + ".lock");
  std::string text;
  if (file_exists(path)) text = read_file(path);
  if (holds_id(text, s.id)) throw InputError(path + ": cannot save the snippet: the corpus already has id '" + s.id + "'");
  if (!text.empty() && text.back() != '\n') text += '\n';
  write_file_atomic(path, text + record);
  return s.id;
}

}  // namespace ps::corpus
