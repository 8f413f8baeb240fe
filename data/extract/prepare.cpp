#include "data/extract/prepare.h"

#include <algorithm>

#include "data/syntax/labelled_tree.h"
#include "data/syntax/parse.h"
#include "data/syntax/structural.h"
#include "models/util/error.h"

namespace ps::extract {

const char* skip_name(Skip s) {
  switch (s) {
    case Skip::none: return "none";
    case Skip::parse_error: return "parse_error";
    case Skip::no_words: return "no_words";
    case Skip::too_long: return "too_long";
    case Skip::other_language: return "other_language";
    case Skip::other_split: return "other_split";
    case Skip::split_full: return "split_full";
  }
  return "?";
}

std::vector<align::Span> whitespace_words(const std::string& text) {
  std::vector<align::Span> words;
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && space(text[i])) ++i;
    size_t j = i;
    while (j < text.size() && !space(text[j])) ++j;
    if (j > i) words.emplace_back(int64_t(i), int64_t(j));
    i = j;
  }
  return words;
}

PrepareResult prepare(corpus::Snippet snippet, int64_t source_index, const tok::Tokenizer& tokenizer,
                      const PrepareOptions& opt) {
  PrepareResult r;
  Prepared& p = r.prepared;
  p.source_index = source_index;
  const std::string where = snippet.id.empty() ? "record " + std::to_string(source_index + 1) : snippet.id;
  std::string text = snippet.code;
  std::vector<align::Span> words;
  if (opt.syntax) {
    syntax::ParseOptions po;
    po.source_name = where;
    auto parsed = syntax::try_parse(snippet.code, syntax::language_from_name(snippet.language), po);
    if (!parsed.ok()) {
      r.skip = Skip::parse_error;
      r.message = parsed.message;
      return r;
    }
    // The model sees the comment-free text (comments blanked to spaces, so byte offsets still hold).
    text = parsed.code;
    for (const auto& t : syntax::code_tokens(parsed.tree, text)) words.emplace_back(t.start_byte, t.end_byte);
    if (!words.empty()) {
      p.dcu = syntax::ast_to_dcu(parsed.tree);
      const auto labelled = syntax::to_labelled(parsed.tree);
      const auto st = syntax::structural_targets(labelled);
      p.node_parent.assign(st.parent.begin(), st.parent.end());
      p.leaf_node.assign(st.leaf.begin(), st.leaf.end());
      for (int leaf : st.leaf) p.leaf_depth.push_back(st.depth[leaf]);
      if (p.dcu.u.size() != words.size() || p.leaf_node.size() != words.size())
        throw RuntimeError(where + ": internal: " + std::to_string(words.size()) + " code tokens but " +
                           std::to_string(p.dcu.u.size()) + " tree leaves");
    }
  } else {
    words = whitespace_words(text);
  }
  if (words.empty()) {
    r.skip = Skip::no_words;
    r.message = where + ": no code tokens";
    return r;
  }
  p.alignment = align::align(tokenizer, text, words, opt.align_mode, opt.add_special_tokens, opt.continuation.get());
  const int64_t n = p.alignment.n_subwords();
  const int64_t before = opt.prefix_counts ? opt.prefix_tokens : 0;
  if (opt.max_tokens > 0 && n + before > opt.max_tokens) {
    r.skip = Skip::too_long;
    r.message = where + ": " + std::to_string(n) + " tokens" +
                (before > 0 ? " after a " + std::to_string(before) + "-token --context-prefix" : "") +
                " exceed the model's " + std::to_string(opt.max_tokens) + " positions";
    return r;
  }
  snippet.code = std::move(text);
  p.snippet = std::move(snippet);
  return r;
}

}  // namespace ps::extract
