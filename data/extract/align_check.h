#pragma once
// What an alignment mode does to the words and to the model, measured on real functions (probescope
// align-check): per mode, the subwords, the adjacent word pairs sharing a subword, the words whose pooled set
// is not a contiguous run, and for a causal LM the perplexity of the same comment-free functions as the model
// reads them: tokenized naturally (offsets mode's input) or re-segmented at word boundaries (boundary mode's).
// Each function is scored alone from position 0 with its EOS appended, as models/train packs documents
// (train::evaluate), so the two numbers differ only by the segmentation.
#include <cstdint>
#include <string>

#include "models/transformer/engine.h"

namespace ps::extract {

struct AlignCheckOptions {
  std::string model_dir;
  std::string corpus;              // JSONL (CodeSearchNet form)
  std::string splits = "test";     // held-out functions by default ("" = every split)
  std::string language = "auto";   // auto: the first record's
  int64_t limit = 300;             // functions scored (0 = all kept)
  bool bf16 = false;               // bf16 autocast for the forwards (fp32 log-softmax either way)
  models::LoadOptions load;
};

struct ModeFigures {
  int64_t subwords = 0;        // model inputs over all functions
  int64_t shared_pairs = 0;    // adjacent word pairs whose pooled subword sets overlap
  int64_t noncontiguous = 0;   // words whose pooled subwords are not one contiguous run
  int64_t fallback = 0;        // words that overlapped no subword
  double nll = 0;              // summed next-token loss, nats (0 without a causal LM)
  int64_t targets = 0;         // scored targets
  double ppl() const;             // per own target
  double bits_per_byte(int64_t bytes) const;
};

struct AlignCheckResult {
  int64_t functions = 0, words = 0, bytes = 0;
  int64_t skipped = 0;         // parse errors, longer than the model's positions in either segmentation
  int64_t changed = 0;         // functions whose boundary ids differ from the natural ones
  bool scored = false;         // perplexity measured (a causal LM with an LM head)
  ModeFigures natural, boundary;
  std::string format(const std::string& model, const std::string& corpus) const;  // the human table
};

AlignCheckResult align_check(const AlignCheckOptions& opt);

}  // namespace ps::extract
