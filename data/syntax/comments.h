#pragma once
// Comment (and Python docstring) removal on the source text, offset-preserving.
#include <string>
#include <vector>

#include "data/syntax/parse.h"

namespace ps::syntax {

struct ByteSpan {
  uint32_t start = 0, end = 0;
};

// Blanks [start,end) spans: each byte except '\n' becomes ' ', so offsets and line numbers are kept.
std::string blank_spans(const std::string& code, const std::vector<ByteSpan>& spans);

// Spans to blank in the text `tree` was parsed from: comment nodes and (Python, when asked) docstrings.
std::vector<ByteSpan> removal_spans(const SyntaxTree& tree, Language lang, bool remove_docstrings);

// The source with comments (and, for Python when asked, docstrings) blanked — what try_parse parses.
// Python docstrings follow the reference preprocessing (GraphCodeBERT's remove_comments_and_docstrings):
// a string literal that is a whole expression statement is removed, except when it is the only statement of
// its block (removing it would leave an empty, unparsable body).
std::string strip_comments(const std::string& code, Language lang, bool remove_docstrings = true);

}  // namespace ps::syntax
