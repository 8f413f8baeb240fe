#pragma once
// Everything the scratchpad shows for one typed snippet, computed in one call with no Qt: the Tree-sitter
// parse (ERROR/MISSING nodes and their byte spans), the subwords with word boundaries and the word ↔ subword
// alignment, one forward through the loaded Engine capturing every layer's residual stream
// (hidden_states.0..n) and every block's attention pattern (all rows, or one band of query rows for a long
// input), the gold AST-Probe tuple (d, c, u) and tree, and, given a fitted AST-Probe, d̂ and the recovered
// tree; plus each head's attention fraction on AST edges.
//
// Plain data only (no torch in this header): widgets include it. The forward lives in forward_snippet, the
// one place a second model (compare mode) or another panel (logit lens) calls; add fields to the structs
// rather than new entry points, so every face sees the same numbers.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/align/align.h"
#include "data/syntax/dcu.h"
#include "data/syntax/parse.h"
#include "probes/metrics.h"
#include "probes/tree_decode.h"

namespace ps::models {
class Engine;
struct LoadOptions;
}  // namespace ps::models
namespace ps::tok {
class Tokenizer;
}
namespace ps::probes {
struct SavedAstProbe;
}

namespace ps::live {

// A model opened for live use: the shared Engine, its tokenizer and the word alignment extraction uses for it
// (so a probe fitted on a store sees vectors pooled the same way).
struct LiveModel {
  std::string dir, label, model_type;
  std::shared_ptr<const models::Engine> engine;
  std::shared_ptr<const tok::Tokenizer> tokenizer;
  std::shared_ptr<const tok::Tokenizer> continuation;  // boundary alignment only
  align::Mode align_mode = align::Mode::Offsets;
  int64_t layers = 0, heads = 0, d_model = 0, max_positions = 0;
  bool causal = true;
};

// Loads config, weights and tokenizer.json (slow for big checkpoints: call it off the GUI thread).
// InputError naming the file for a bad directory or a model without tokenizer.json.
LiveModel open_live_model(const std::string& dir, const models::LoadOptions& load);

struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<float> data;  // row-major
  const float* row(int64_t r) const { return data.data() + r * cols; }
};

// One block's attention pattern for query rows [first_row, first_row + rows) of the input, all keys.
struct Pattern {
  int layer = 0;  // HF layer index of the block's output: block L-1 (attention layer L, as the explorer counts)
  int64_t heads = 0, first_row = 0, rows = 0, keys = 0;
  std::vector<float> values;  // heads x rows x keys
  float at(int64_t head, int64_t q, int64_t k) const { return values[size_t((head * rows + (q - first_row)) * keys + k)]; }
};

// What the forward captures. Rows: 0 = every query row; otherwise that band (clipped to the input).
struct ForwardRequest {
  std::string mask = "default";  // RunOptions::mask: default | lm-infinite:G:L[:limit|none] | window:W
  bool hidden = true;            // hidden_states.0..n
  bool patterns = true;          // every block's attn.hook_pattern
  int64_t pattern_first_row = 0, pattern_rows = 0;
};

struct ForwardStates {
  std::vector<Matrix> hidden;     // [layers + 1] of [len, d]: hidden_states[l]
  std::vector<Pattern> patterns;  // [layers], patterns[L-1] is block L-1 (HF layer L)
  std::string mask;               // as run
};

// One forward of `ids` through model.engine (serialised by the Engine; thread-safe). The only forward the
// scratchpad runs, so a second model or a new panel reuses it.
ForwardStates forward_snippet(const LiveModel& model, const std::vector<int32_t>& ids, const ForwardRequest& request);

// An ERROR node (unexpected input, with its text) or a MISSING node (zero width, the expected token type).
struct ParseIssue {
  bool missing = false;
  std::string type;    // "ERROR" or the missing token's type
  int64_t begin = 0, end = 0;  // bytes in the snippet
  int line = 0, column = 0;    // 1-based, of begin
};

struct ParseView {
  bool ok = false;
  std::string message;  // the parser's one-line reason when not ok
  std::string code;     // what the model sees: comments blanked to spaces (same byte offsets as the input)
  syntax::SyntaxTree tree;
  std::vector<ParseIssue> issues;
};

struct TokenView {
  std::vector<int32_t> ids;
  std::vector<std::string> texts;      // each subword's bytes of the text, readable (plot::readable_token), or its token
  std::vector<align::Span> spans;      // per subword, bytes in the text
  std::vector<uint8_t> special;
  std::vector<int> word_of;            // per subword: its first word, -1 for none (specials, whitespace)
  std::vector<align::Span> word_spans; // per word (code token)
  std::vector<std::string> words;      // per word: its text
  std::vector<uint8_t> word_start;     // per subword: 1 when it starts a word (a word boundary falls before it)
  align::Alignment alignment;
};

struct GoldSyntax {
  syntax::Dcu dcu;                // d: n-1 LCA heights, c: their labels, u: n unary labels
  probes::DecodedTree tree;       // the gold binarised tree decoded back (what the probe is scored against)
  std::vector<int> word_distance; // n x n tree distances between the words' leaves
};

struct ProbeView {
  int layer = 0, k = 0;
  std::string path;
  std::vector<double> d_hat;       // n-1, ‖t_{i+1} − t_i‖² after the probe's projection
  std::vector<std::string> c, u;   // predicted labels
  probes::DecodedTree tree;
  probes::MatchCounts counts;      // labelled constituents vs gold
  probes::PRF prf;
};

// Fraction of a head's attention mass from word queries onto keys of OTHER words that are AST neighbours
// (tree distance ≤ max_tree_distance), averaged over the word queries of the captured rows: the per-snippet
// form of analysis/attention's ast_fraction.
struct HeadAstFraction {
  int layer = 0, head = -1;  // -1: the mean over heads
  double fraction = 0;
  int64_t queries = 0;
};

struct LiveRequest {
  std::string code;
  syntax::Language language = syntax::Language::Python;
  ForwardRequest forward;
  const probes::SavedAstProbe* probe = nullptr;  // optional; its layer picks the hidden state
  std::string probe_path;
  int probe_k = 0;
  int max_tree_distance = 2;
  align::Pool pool = align::Pool::Mean;  // what extraction pools with by default
  // Checked between stages (parse, tokens, forward, probe, statistics): set it to drop a stale run.
  const std::atomic<bool>* cancel = nullptr;
};

enum class LiveStatus { ok, parse_error, no_words, too_long, cancelled };

struct LiveResult {
  LiveStatus status = LiveStatus::ok;
  std::string message;  // one line when not ok
  ParseView parse;      // always filled (even on a parse error: the issues to mark inline)
  TokenView tokens;     // the rest only when status == ok
  GoldSyntax gold;
  ForwardStates states;
  std::optional<ProbeView> probe;
  std::vector<HeadAstFraction> ast_fraction;  // per layer: every head, then the mean (head -1)
  double seconds_forward = 0, seconds_total = 0;
  bool ok() const { return status == LiveStatus::ok; }
};

// The stages one by one (each usable alone) and all of them at once.
ParseView parse_snippet(const std::string& code, syntax::Language language);
TokenView tokenize_snippet(const LiveModel& model, const ParseView& parse);
GoldSyntax gold_syntax(const ParseView& parse);
// Word vectors of hidden_states[layer], pooled as extraction does (mean of each word's subwords).
Matrix word_vectors(const ForwardStates& states, const TokenView& tokens, int layer, align::Pool pool = align::Pool::Mean);
ProbeView apply_probe(const probes::SavedAstProbe& probe, const Matrix& word_vectors, const GoldSyntax& gold);
std::vector<HeadAstFraction> ast_fractions(const ForwardStates& states, const TokenView& tokens, const GoldSyntax& gold,
                                           int max_tree_distance = 2);

LiveResult analyze(const LiveModel& model, const LiveRequest& request);

}  // namespace ps::live
