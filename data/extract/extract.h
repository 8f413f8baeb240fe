#pragma once
// The extraction pipeline: corpus JSONL → parse/tokenize/align (producer thread) → Engine forwards in
// prepacked batches (calling thread) → pooled per-word vectors, labels and tables → StoreWriter (writer
// thread). Bounded queues between the stages keep memory proportional to the token budget, and the writer
// thread overlaps HDF5 I/O with compute.
//
// Resumable: every group of snippets is committed as a unit; a rerun with the same settings continues after the
// last committed snippet (the store refuses a manifest that differs). Group boundaries depend only on the corpus
// and the settings, never on where a run stopped, so an interrupted-and-resumed store equals an uninterrupted one.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "data/extract/prepare.h"
#include "data/store/types.h"
#include "models/transformer/engine.h"
#include "models/util/progress.h"

namespace ps::extract {

struct ExtractOptions {
  std::string model_dir;   // HF layout: config.json, model.safetensors, tokenizer.json
  std::string corpus;      // JSONL (CodeSearchNet form: code, language, id, split…)
  std::string out;         // the .h5 store
  std::string layers = "all";          // per-word pooled vectors (what probes read)
  std::string hooks = "resid_post";    // resid_post (= hidden_states[L]), resid_mid, attn_out, mlp_out
  std::string token_layers;            // raw per-subword vectors of these layers ("" = none)
  std::string attention_layers;        // attention patterns of these layers, L = block L-1 ("" = none)
  std::string heads = "all";           // heads kept for attention patterns
  std::string store_dtype = "float16"; // float32 | float16 | bfloat16
  int gzip = 0;                        // 0 = off; 1..9 = shuffle + deflate
  std::string language = "auto";       // auto: the first record's language; "any": keep every language
  std::string syntax = "auto";         // auto (on for code languages) | on | off
  // auto: boundary for byte-level BPE and Metaspace tokenizers, offsets otherwise (data/align/boundary.h);
  // boundary | offsets | joined (the reference's words-joined-by-spaces input). The manifest records the mode used.
  std::string align = "auto";
  std::string pool = "mean";           // mean | first | last
  // When the last stored layer is the final norm's output (GPT-2 ln_f, LLaMA norm), also store the last
  // block's raw output as words/blocks.{n-1}.hook_resid_post, so it can be probed without the norm.
  bool raw_last_block = true;
  models::EngineOptions engine;
  int shard_index = 0, shard_count = 1;  // record r belongs to shard r % shard_count
  int64_t limit = 0;                     // at most this many snippets of this shard (0 = all)
  std::string splits;                    // keep only these corpus splits, e.g. "valid,test" ("" = all)
  // At most this many kept snippets of each corpus split (0 = no cap): a probe trained on the train split and
  // tested on held-out ones needs some of each, where the corpus lists every train record first.
  // "N" (every split) or "train=3000,valid=500,test=500" (splits not named: no cap); "" = no cap. Per shard, as limit.
  std::string limit_per_split;
  bool overwrite = false;                // replace an existing store instead of resuming it
  std::optional<uint64_t> random_weights;  // the same architecture with random weights (a probing baseline)
  // With random_weights: keep the checkpoint's embeddings and randomise only the blocks (the AST-Probe
  // reference's random baseline); false randomises everything.
  bool random_keep_embeddings = false;
  std::string model_label;                 // short name for tables/plots; default: directory name (+ "-random")
  int64_t group_tokens = 0;                // tokens per commit group (0 = the engine's token budget)
  // Faces that already hold a model (the GUI's shared Engine, benchmarks of random presets) pass it instead of
  // loading model_dir again; then model_dir may be empty and `tokenizer` must name the tokenizer.json.
  std::shared_ptr<const models::Engine> shared_engine;
  std::string tokenizer;  // tokenizer.json; default model_dir/tokenizer.json
  // Exactly this many tokens of other functions of the same split before each function (data/extract/
  // context_prefix.h: the scheme); only the function's states are stored, at positions N..N+len-1. 0 = none.
  int64_t context_prefix = 0;
  uint64_t context_prefix_seed = 0;  // the order the other functions are drawn in
};

struct ExtractSummary {
  std::string out;
  int64_t records = 0;        // corpus records of this shard seen
  int64_t snippets = 0;       // written by this run
  int64_t resumed_from = 0;   // snippets already committed when the run started
  int64_t total_snippets = 0; // in the store at the end
  int64_t tokens = 0, words = 0;
  std::string align;           // the alignment mode used (auto resolved)
  int64_t shared_pairs = 0;    // adjacent word pairs (written now) whose pooled subword sets overlap
  int64_t fallback_words = 0;  // words (written now) that overlapped no subword and pooled the nearest one
  std::string layer_note;      // e.g. "layer 4 = ln_f(block 3); raw block 3 output in words/blocks.3.hook_resid_post"
  std::array<int64_t, kNumSkips> skipped{};
  int64_t prefix_tokens = 0;  // --context-prefix tokens the forwards ran (not stored)
  int64_t slots = 0;          // token slots the forwards computed (tokens + prefix tokens + padding)
  int64_t padded_slots = 0;   // slots one-sequence-per-row padding would have computed for the same groups
  int64_t forwards = 0;
  double seconds = 0, forward_seconds = 0, load_seconds = 0;  // load: model and tokenizer (within seconds)
  int64_t file_bytes = 0;
  bool complete = false;      // finished (false when cancelled)
  bool already_complete = false;
  std::string format() const;  // multi-line human summary
  std::string skip_counts() const;  // "parse_error 2, too_long 1", or "" when nothing was skipped
};

// Runs the pipeline. Progress (optional) counts snippets with tokens as the extra unit; cancel() stops after the
// group in flight, leaving a resumable store. warn receives one-line notices (skips, resume).
ExtractSummary extract(const ExtractOptions& opt, Progress* progress = nullptr,
                       const std::function<void(const std::string&)>& warn = {});

// Counts the records (non-blank lines) of shard i/N in a JSONL file: the progress total.
int64_t count_records(const std::string& jsonl, int shard_index, int shard_count);

// "i/N" → (i, N); InputError unless 0 <= i < N.
std::pair<int, int> parse_shard(const std::string& spec);

}  // namespace ps::extract
