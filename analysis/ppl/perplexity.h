#pragma once
// Token-level perplexity of a causal LM, overall and per position bucket, on long documents: the functions
// of a held-out split, in a seeded order, tokenized without special tokens and joined by the separator
// token, cut into consecutive documents of `context` tokens (the short tail is dropped). The target at
// position p (1 ≤ p < context) is token p predicted from tokens 0..p-1; buckets count targets by p.
//
// Streaming and resumable: documents run in batches of about one token budget; after each batch the
// partial sums (per bucket: targets, summed NLL) are checkpointed atomically in out_dir/ppl_state.json, and
// ppl.csv + summary.json are rewritten from them. One out_dir holds several settings (one line each in
// `probescope plot lines --x bucket_start --y ppl --group setting`); they must share the documents
// (corpus, split, context, separator, seed, count, buckets), and a setting rerun with other parameters
// (model, mask, RoPE scaling, dtype) is refused. Run one process per out_dir at a time.
#include <cstdint>
#include <string>
#include <vector>

#include "models/tokenizer/tokenizer.h"
#include "models/transformer/engine.h"
#include "models/util/progress.h"

namespace ps::ppl {

struct PplOptions {
  std::string model_dir;
  std::string corpus;             // JSONL with "code", "language", "split"
  std::string split = "test";
  int64_t context = 0;            // tokens per document; 0 = the model's max_positions
  std::string by_position;        // "" = one bucket; "W" = buckets of W positions; "0,64,512" = edges
  int64_t documents = 0;          // at most this many documents; 0 = all the split gives
  uint64_t seed = 0;              // order of the functions before they are joined
  std::string separator;          // token text; "" = config.json eos_token_id, else <|endoftext|> or </s>
  std::string setting;            // label in ppl.csv; "" = model name + mask + rope scaling
  models::EngineOptions engine;   // device, dtype, threads, token budget, mask, rope_scaling (LoadOptions)
  std::string out_dir;            // required: state, ppl.csv, summary.json
  int64_t stop_after = 0;         // stop (resumably) after this many new documents; 0 = run to the end
};

struct Bucket {
  int64_t start = 0, end = 0;  // target positions [start, end)
  int64_t tokens = 0;
  double nll = 0;              // summed nats
  double mean_nll() const { return tokens ? nll / double(tokens) : 0.0; }
  double ppl() const;
};

struct PplResult {
  std::string setting;
  int64_t documents_total = 0, documents_done = 0;
  Bucket overall;                // [1, context)
  std::vector<Bucket> buckets;
  bool complete() const { return documents_done == documents_total; }
};

// Bucket edges from --by-position for documents of `context` tokens (InputError naming --by-position).
std::vector<int64_t> bucket_edges(const std::string& by_position, int64_t context);

// Runs (or resumes) one setting. InputError (one line) for: a missing corpus, no functions in the split, too
// few tokens for one document, context < 2 or beyond the model's limit, a masked-LM (encoder) model, a
// model without LM head, bad buckets, or a conflicting earlier run in out_dir. progress may be null; its
// cancel() stops after the current batch with the state saved.
PplResult evaluate_perplexity(const PplOptions& options, Progress* progress = nullptr);

// The documents evaluate_perplexity scores (o.corpus, o.split, o.seed, o.documents), for checks and plots.
std::vector<std::vector<int32_t>> held_out_documents(const PplOptions& o, const tok::Tokenizer& tokenizer,
                                                     int32_t separator, int64_t context);

// sha256 over config.json and the weight files: what a resumed run must find unchanged.
std::string model_files_hash(const std::string& model_dir);

// Per-target NLL of one sequence from its logits [len, V]: out[p-1] = -log softmax(logits[p-1])[ids[p]].
std::vector<double> next_token_nll(const at::Tensor& logits, const std::vector<int32_t>& ids);

}  // namespace ps::ppl
