#pragma once
// Tree-sitter parsing into a plain, owned tree (every node kept, named and anonymous).
// Comments are removed *before* parsing (AST-Probe §1) by blanking them in the source — every byte of a
// comment except '\n' becomes ' ' — and parsing again, so byte offsets still index the original text.
// String literals collapse to one terminal (see is_string_literal_type).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/util/error.h"

struct TSLanguage;

namespace ps::syntax {

enum class Language { Python, JavaScript, Go, Java, Cpp };

// "python", "javascript", "go", "java", "cpp" (also "js", "c++"); throws InputError otherwise.
Language language_from_name(const std::string& name);
// From a path or bare extension (".py", "py", "src/a.go"); nullopt when unknown or "dir/name" has no dot.
std::optional<Language> language_from_extension(const std::string& path_or_ext);
const char* language_name(Language lang);
// The compiled grammar; checks its ABI against the runtime (RuntimeError when incompatible).
const TSLanguage* ts_language(Language lang);

struct SyntaxNode {
  std::string type;
  bool named = false;
  uint32_t start_byte = 0, end_byte = 0;
  std::vector<int> children;  // indices into SyntaxTree::nodes, source order
  int parent = -1;
  bool has_error = false;     // this node is ERROR/MISSING or contains one
};

// Nodes are stored in pre-order: a parent's index is always smaller than its children's.
struct SyntaxTree {
  std::vector<SyntaxNode> nodes;
  int root = -1;
  bool terminal(int i) const { return nodes[i].children.empty(); }
  // Terminals (code tokens) in source order.
  std::vector<int> terminals() const;
};

// Comment node types: "comment", "*_comment" (Java line_comment/block_comment, JS html_comment).
bool is_comment_type(const std::string& type);
// String-literal non-terminals that collapse: type == "string", type contains "string_literal"
// (Go interpreted/raw, Java, C++ string/raw), JS "template_string", C++ "char_literal".
bool is_string_literal_type(const std::string& type);

struct ParseOptions {
  std::string source_name;           // for error messages ("file: problem")
  bool remove_comments = true;
  bool remove_docstrings = true;     // Python only: statement-level string expressions (see comments.h)
  bool collapse_strings = true;
  // Zero-width terminals (e.g. Go's end-of-file statement terminator) have no text a model could see.
  bool drop_zero_width = true;
  size_t max_bytes = 4u << 20;       // larger inputs are rejected before parsing
  uint64_t timeout_micros = 5000000; // per Tree-sitter parse call
  int max_depth = 1500;              // deeper trees are rejected (keeps every recursion-free consumer safe)
};

enum class ParseStatus { Ok, SyntaxError, Empty, TooLarge, Timeout, TooDeep, BadEncoding };

// A parse with ERROR/MISSING nodes is reported (status SyntaxError, message says where), never silently used.
struct ParseResult {
  ParseStatus status = ParseStatus::Ok;
  std::string message;  // one line, "source: problem" when status != Ok
  std::string code;     // the parsed text: input with comments (and docstrings) blanked; same length as input
  SyntaxTree tree;      // filled for Ok and SyntaxError (has_error marks the bad parts)
  bool ok() const { return status == ParseStatus::Ok; }
};

class ParseError : public InputError {
 public:
  ParseError(ParseStatus s, const std::string& msg) : InputError(msg), status(s) {}
  ParseStatus status;
};

ParseResult try_parse(const std::string& code, Language lang, const ParseOptions& opt = {});
// Throws ParseError unless the parse is clean.
SyntaxTree parse(const std::string& code, Language lang, const ParseOptions& opt = {});

// The subtree rooted at `node`, re-indexed (pre-order) with byte offsets shifted by -offset_shift.
SyntaxTree subtree(const SyntaxTree& tree, int node, uint32_t offset_shift = 0);

// Copy with string literals collapsed (descendants dropped, node becomes a terminal) and/or zero-width nodes
// dropped (except MISSING ones). try_parse() already applies this according to its options.
SyntaxTree normalize(const SyntaxTree& tree, bool collapse_strings, bool drop_zero_width);

}  // namespace ps::syntax
