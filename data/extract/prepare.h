#pragma once
// Per-snippet preparation before the model runs: parse (comments removed, strings collapsed), code tokens
// (words), the model's subwords aligned to words, the AST-Probe (d, c, u) labels and the structural-probe
// tree. Pure CPU work with no model state, so it runs on the producer thread ahead of the forwards.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/align/align.h"
#include "data/corpus/snippet.h"
#include "data/syntax/dcu.h"
#include "models/tokenizer/tokenizer.h"

namespace ps::extract {

struct PrepareOptions {
  bool syntax = true;               // parse and label; a snippet that does not parse cleanly is skipped
  align::Mode align_mode = align::Mode::Offsets;
  // Boundary mode: the tokenizer that encodes pieces after the first (align::continuation_tokenizer).
  std::shared_ptr<const tok::Tokenizer> continuation;
  int64_t max_tokens = 0;           // the model's positions; longer inputs are skipped (0 = no limit)
  // --context-prefix: these count against max_tokens only for a learned position table (which ends there);
  // a rotary model runs past its trained length, so there only the function itself must fit.
  int64_t prefix_tokens = 0;
  bool prefix_counts = true;
  bool add_special_tokens = true;   // the tokenizer's post-processor (BOS/CLS/SEP) as the model was trained
};

enum class Skip { none, parse_error, no_words, too_long, other_language, other_split, split_full };
inline constexpr int kNumSkips = 7;
const char* skip_name(Skip s);

struct Prepared {
  corpus::Snippet snippet;
  int64_t source_index = 0;    // 0-based record index in the corpus
  align::Alignment alignment;  // model input + word ↔ subword map
  syntax::Dcu dcu;             // empty when syntax is off
  // Structural-probe tree (syntax on): parent of every node of the labelled AST (-1 at the root), and each
  // word's leaf node and its depth.
  std::vector<int32_t> node_parent, leaf_node, leaf_depth;
  // --context-prefix: the other text run before the function (its states are dropped); empty = none.
  std::vector<int32_t> prefix_ids;
};

struct PrepareResult {
  Skip skip = Skip::none;
  std::string message;  // one line, "id: problem", when skipped
  Prepared prepared;
};

PrepareResult prepare(corpus::Snippet snippet, int64_t source_index, const tok::Tokenizer& tokenizer,
                      const PrepareOptions& opt);

// Words of a snippet without syntax: maximal runs of non-whitespace bytes.
std::vector<align::Span> whitespace_words(const std::string& text);

}  // namespace ps::extract
