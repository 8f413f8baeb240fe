#pragma once
// Internals shared by extract.cpp and batch.cpp: the resolved settings of one run.
#include <memory>
#include <string>
#include <vector>

#include "data/extract/extract.h"
#include "data/extract/layers.h"
#include "data/store/types.h"
#include "models/tokenizer/tokenizer.h"

namespace ps::extract::detail {

struct Plan {
  std::vector<int> layers, token_layers, attention_layers, heads;
  std::vector<Hook> hooks;
  store::DType store_dtype = store::DType::f16;
  align::Pool pool = align::Pool::Mean;
  PrepareOptions prepare;
  std::string language;  // the one kept, or "any"
  int n_layers = 0, n_heads = 0;
  int64_t d_model = 0;
  int64_t group_tokens = 0;
  // The last hidden state is a final norm's output (GPT-2, LLaMA; not post-LN BERT): label it, and store
  // the raw last block output beside it when raw_last_block.
  bool final_norm = false;
  bool raw_last_block = false;
  // The RoPE scaling that ran (models::describe_rope_scaling: checkpoint's own or --rope-scaling), "" when
  // none applies (learned positions, or rotary without scaling).
  std::string rope_scaling;
  int32_t prefix_separator = -1;  // --context-prefix's separator token (prepare.prefix_tokens > 0)
  std::string raw_last_block_hook() const { return "blocks." + std::to_string(n_layers - 1) + ".hook_resid_post"; }
  models::Capture capture() const;  // every model hook the plan needs
};

// Groups of prepared snippets, each committed as a unit.
using Group = std::vector<Prepared>;

// Turns one group and its model states (same order) into the store batch.
store::SnippetBatch make_batch(const Plan& plan, const Group& group,
                               const std::vector<models::SequenceStates>& states);

// The manifest: every setting that changes the stored numbers, plus provenance.
store::Manifest make_manifest(const ExtractOptions& opt, const Plan& plan, const std::string& model_hash,
                              const std::string& corpus_hash, const std::string& model_label);

}  // namespace ps::extract::detail
