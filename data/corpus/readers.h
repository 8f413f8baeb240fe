#pragma once
// Corpus readers: directory trees, CodeSearchNet-style JSONL, plain text. Every bad input is reported with
// its file (and line) through the Reporter, counted by reason, and skipped; reading always continues.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "data/corpus/snippet.h"

namespace ps::corpus {

enum class TextMode { File, Paragraph };  // language "text": one snippet per file, or per blank-line paragraph

struct ReadOptions {
  // "auto" (by extension / the JSONL "language" field), a syntax language ("python", "javascript", "go",
  // "java", "cpp"), or "text" (every file is plain text; no parsing).
  std::string language = "auto";
  // fnmatch globs (no FNM_PATHNAME: '*' crosses '/') tried on the path relative to the walked directory and on
  // the file name. A file must match one include (when any is given) and no exclude; a directory whose
  // "relative/path/" matches an exclude is not entered.
  std::vector<std::string> include, exclude;
  bool include_hidden = false;    // walk entries whose name starts with '.'
  bool functions = false;         // function-level snippets (syntax::extract_functions) instead of whole files
  bool include_nested = false;    // with functions: also functions defined inside functions
  TextMode text_mode = TextMode::File;
  size_t max_file_bytes = 1u << 20;  // larger files (and JSONL code fields) are TooLarge, checked before reading
  size_t max_line_bytes = 5000;      // a longer line marks minified/generated code: LongLine
};

using SnippetSink = std::function<void(Snippet&&)>;

// A path: a directory is walked, "*.jsonl" is read as JSONL, anything else as one source/text file.
void read_input(const std::string& path, const ReadOptions& opt, Reporter& rep, const SnippetSink& sink);

// Walks `dir` depth first: a directory's files in byte-wise sorted order, then its subdirectories (sorted), so the
// same tree always gives the same sequence.
// Symbolic links to files are followed, links to directories are not. Unsupported extensions and excluded
// files are counted quietly (no problem line); every other skip is reported.
void read_directory(const std::string& dir, const ReadOptions& opt, Reporter& rep, const SnippetSink& sink);

// One JSON object per line: code from "code" (else "original_string"); "language", "func_name", "url", "path",
// "id" when present (id defaults to "file:line"). Blank lines are ignored; a bad line is reported as
// "file:line: problem" and skipped.
void read_jsonl(const std::string& file, const ReadOptions& opt, Reporter& rep, const SnippetSink& sink);

// One file (already known to be wanted): vetted, then one whole-file snippet, its functions, or paragraphs.
void read_source_file(const std::string& file, const ReadOptions& opt, Reporter& rep, const SnippetSink& sink);

// The language a file is read as under `opt` ("python", ..., "text"), or nullopt when unsupported.
std::optional<std::string> file_language(const std::string& file, const ReadOptions& opt);

// Text vetting shared by the readers: the reason the bytes cannot be a snippet (Empty, Binary, BadUtf8,
// LongLine), with a message naming the offending offset/line; nullopt when fine.
struct TextProblem {
  SkipReason reason;
  std::string message;
};
std::optional<TextProblem> check_text(const std::string& data, size_t max_line_bytes);

// Strict UTF-8 (no overlongs, surrogates or code points > U+10FFFF). On failure *bad_offset is the first bad byte.
bool valid_utf8(const char* data, size_t n, size_t* bad_offset = nullptr);

// Splits plain text into paragraphs separated by blank (whitespace-only) lines; each keeps its own lines.
std::vector<std::string> paragraphs(const std::string& text);

}  // namespace ps::corpus
