// Directory trees and single source/text files.
#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dirent.h>

#include "data/corpus/readers.h"
#include "data/syntax/parse.h"
#include "data/syntax/snippets.h"

namespace ps::corpus {

namespace {

bool match_any(const std::vector<std::string>& globs, const std::string& rel) {
  std::string base = rel.substr(rel.rfind('/') == std::string::npos ? 0 : rel.rfind('/') + 1);
  for (const auto& g : globs)
    if (fnmatch(g.c_str(), rel.c_str(), 0) == 0 || fnmatch(g.c_str(), base.c_str(), 0) == 0) return true;
  return false;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Reads a regular file whose size is within the limit; the reason and message otherwise.
std::optional<TextProblem> slurp(const std::string& path, size_t max_bytes, std::string& out) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return TextProblem{SkipReason::Unreadable, std::strerror(errno)};
  if (!S_ISREG(st.st_mode)) return TextProblem{SkipReason::Unreadable, "not a regular file"};
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    return TextProblem{SkipReason::TooLarge, std::to_string(st.st_size) + " bytes (limit " +
                                                 std::to_string(max_bytes) + ")"};
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return TextProblem{SkipReason::Unreadable, std::string("cannot open: ") + std::strerror(errno)};
  out.assign(static_cast<size_t>(st.st_size), '\0');
  size_t got = out.empty() ? 0 : std::fread(&out[0], 1, out.size(), f);
  bool err = std::ferror(f);
  std::fclose(f);
  if (err) return TextProblem{SkipReason::Unreadable, "read error"};
  out.resize(got);  // the file may have shrunk since stat
  return std::nullopt;
}

int line_of(const std::string& text, size_t byte) {
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + std::min(byte, text.size()), '\n'));
}

}  // namespace

std::optional<std::string> file_language(const std::string& file, const ReadOptions& opt) {
  if (opt.language == "text") return std::string("text");
  size_t slash = file.rfind('/');
  std::string base = file.substr(slash == std::string::npos ? 0 : slash + 1);
  size_t dot = base.rfind('.');
  if (dot == std::string::npos || dot + 1 == base.size()) return std::nullopt;
  auto lang = syntax::language_from_extension(base.substr(dot + 1));
  if (!lang) return std::nullopt;
  return std::string(syntax::language_name(*lang));
}

void read_source_file(const std::string& file, const ReadOptions& opt, Reporter& rep, const SnippetSink& sink) {
  auto lang = file_language(file, opt);
  ++rep.summary().files_seen;
  if (!lang) {
    rep.skip(SkipReason::Unsupported, "", file, "unsupported extension (no parser)");
    return;
  }
  std::string text;
  if (auto p = slurp(file, opt.max_file_bytes, text)) {
    rep.skip(p->reason, *lang, file, p->message);
    return;
  }
  if (auto p = check_text(text, opt.max_line_bytes)) {
    rep.skip(p->reason, *lang, file, p->message);
    return;
  }
  auto& counts = rep.summary().languages[*lang];
  ++counts.files;
  auto emit = [&](Snippet&& s) {
    ++counts.read;
    ++rep.summary().snippets_read;
    sink(std::move(s));
  };

  if (*lang == "text") {
    if (opt.text_mode == TextMode::File) {
      emit(Snippet{file, "text", std::move(text), "", "", file, ""});
    } else {
      int i = 0;
      for (auto& p : paragraphs(text)) emit(Snippet{file + "#" + std::to_string(i++), "text", std::move(p), "", "", file, ""});
    }
    return;
  }
  if (!opt.functions) {
    emit(Snippet{file, *lang, std::move(text), "", "", file, ""});
    return;
  }
  syntax::SnippetOptions so;
  so.parse.source_name = file;
  so.parse.max_bytes = std::max<size_t>(so.parse.max_bytes, opt.max_file_bytes);
  so.include_nested = opt.include_nested;
  std::vector<syntax::Snippet> fns;
  try {
    fns = syntax::extract_functions(text, syntax::language_from_name(*lang), so);
  } catch (const syntax::ParseError& e) {
    rep.skip(SkipReason::ParseError, *lang, file, e.what());
    return;
  }
  if (fns.empty()) {
    rep.skip(SkipReason::NoFunctions, *lang, file, "no function definitions", /*quiet=*/true);
    return;
  }
  for (const auto& fn : fns) {
    int line = line_of(text, fn.start_byte);
    std::string where = file + ":" + std::to_string(line) + ":" + (fn.name.empty() ? "<anonymous>" : fn.name);
    ++counts.read;
    ++rep.summary().snippets_read;
    if (fn.has_error) {
      rep.skip(SkipReason::ParseError, *lang, where, "syntax error inside the function");
      continue;
    }
    // The original text (comments and docstrings kept, as CodeSearchNet's `code`); parsing strips them again.
    sink(Snippet{where, *lang, text.substr(fn.start_byte, fn.end_byte - fn.start_byte), fn.name, "", file, ""});
  }
}

void read_directory(const std::string& dir, const ReadOptions& opt, Reporter& rep, const SnippetSink& sink) {
  // Explicit stack of (absolute path, relative path) so deep trees cannot overflow. Order: a directory's files
  // (sorted), then its subdirectories (sorted, each fully before the next).
  std::vector<std::pair<std::string, std::string>> stack{{dir, ""}};
  while (!stack.empty()) {
    auto [abs, rel] = stack.back();
    stack.pop_back();
    DIR* d = ::opendir(abs.c_str());
    if (!d) {
      ++rep.summary().files_seen;
      rep.skip(SkipReason::Unreadable, "", abs, std::string("cannot open directory: ") + std::strerror(errno));
      continue;
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      if (!opt.include_hidden && n[0] == '.') continue;
      names.push_back(std::move(n));
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    std::vector<std::pair<std::string, std::string>> subdirs;
    for (const auto& n : names) {
      std::string child_abs = abs + (abs.back() == '/' ? "" : "/") + n;
      std::string child_rel = rel.empty() ? n : rel + "/" + n;
      struct stat lst;
      bool is_dir = ::lstat(child_abs.c_str(), &lst) == 0 && S_ISDIR(lst.st_mode);  // symlinked dirs: not entered
      if (is_dir) {
        if (!match_any(opt.exclude, child_rel + "/")) subdirs.emplace_back(child_abs, child_rel);
        continue;
      }
      if (S_ISLNK(lst.st_mode)) {
        struct stat st;
        if (::stat(child_abs.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;  // link to a directory
      }
      auto lang = file_language(child_abs, opt);
      bool excluded = (!opt.include.empty() && !match_any(opt.include, child_rel)) || match_any(opt.exclude, child_rel);
      if (excluded || (lang && opt.language != "auto" && opt.language != "text" && *lang != opt.language)) {
        ++rep.summary().files_seen;
        rep.skip(SkipReason::Excluded, lang.value_or(""), child_abs, "excluded", /*quiet=*/true);
        continue;
      }
      if (!lang) {
        ++rep.summary().files_seen;
        rep.skip(SkipReason::Unsupported, "", child_abs, "unsupported extension", /*quiet=*/true);
        continue;
      }
      read_source_file(child_abs, opt, rep, sink);
    }
    for (auto it = subdirs.rbegin(); it != subdirs.rend(); ++it) stack.push_back(*it);
  }
}

void read_input(const std::string& path, const ReadOptions& opt, Reporter& rep, const SnippetSink& sink) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    read_directory(path, opt, rep, sink);
  } else if (ends_with(path, ".jsonl")) {
    read_jsonl(path, opt, rep, sink);
  } else {
    auto lang = file_language(path, opt);
    if (lang && opt.language != "auto" && opt.language != "text" && *lang != opt.language) {
      ++rep.summary().files_seen;
      rep.skip(SkipReason::Excluded, *lang, path, "not the selected language " + opt.language);
      return;
    }
    read_source_file(path, opt, rep, sink);
  }
}

}  // namespace ps::corpus
