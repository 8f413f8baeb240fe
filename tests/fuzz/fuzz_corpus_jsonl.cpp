// libFuzzer target: the CodeSearchNet-style JSONL corpus reader (data/corpus read_jsonl) on arbitrary
// bytes. The first byte picks the read options (language auto/python/text, small or default size limits);
// the rest is the file. Contract: every line is either a snippet with valid UTF-8 code within the limits
// or one skip with a one-line problem "file:line: ..."; reading never throws and the counts add up.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "data/corpus/readers.h"
#include "tests/fuzz/fuzz_util.h"

using ps::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ps::corpus;
  if (size == 0) return 0;
  const std::string& path = ps::fuzz::scratch_path(".jsonl");
  ps::fuzz::write_scratch(path, data + 1, size - 1);
  ReadOptions opt;
  static const char* const kLanguages[] = {"auto", "python", "text", "javascript"};
  opt.language = kLanguages[data[0] & 3];
  if (data[0] & 4) {
    opt.max_file_bytes = 64;
    opt.max_line_bytes = 16;
  }
  Summary sum;
  Reporter rep(sum);
  int64_t kept = 0;
  read_jsonl(path, opt, rep, [&](Snippet&& s) {
    ++kept;
    check(!s.id.empty() && !s.language.empty(), "snippet has an id and a language");
    check(!s.code.empty() && s.code.size() <= opt.max_file_bytes, "code within the size limit");
    check(valid_utf8(s.code.data(), s.code.size()), "code is valid UTF-8");
    check(s.code.find('\0') == std::string::npos, "code has no NUL");
    check(opt.language == "auto" || s.language == opt.language, "the selected language");
  });
  check(sum.files_seen == 1, "one file seen");
  check(kept <= sum.snippets_read, "kept snippets were read");
  for (const Problem& p : sum.problems) {
    check(p.message.rfind(path + ":", 0) == 0, "problem names the file");
    check(p.message.find('\n') == std::string::npos && p.message.find('\r') == std::string::npos,
          "problem is one line");
  }
  (void)sum.format();
  (void)sum.to_json();
  return 0;
}
