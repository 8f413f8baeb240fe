#pragma once
// The logit lens (nostalgebraist 2020; TransformerLens's accumulated-residual decomposition): the model's own
// final norm and unembedding applied to the residual stream after every layer, read as next-token
// predictions — how early the model "knows" the next token. For a masked-LM encoder (BERT, RoBERTa) the
// masked-LM head is applied to each layer's state at a masked position: the top fillers by layer.
//
// "Layer L" is hidden_states[L] in Hugging Face terms (0 = embedding output, L = blocks.{L-1}.hook_resid_post,
// n = the last, where the lens equals the model's real logits). The head is Transformer::head_logits, the same
// code the forward ends with.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/plot/figure.h"
#include "models/transformer/engine.h"

namespace ps::tok {
class Tokenizer;
}

namespace ps::lens {

struct Prediction {
  int32_t id = -1;
  std::string text;  // the token decoded alone (special tokens kept)
  double prob = 0;   // softmax over the full vocabulary at that layer
  double logit = 0;
};

// rows = layers 0..n (HF hidden_states index), cols = the input positions shown, k predictions per cell
// (most probable first).
struct LensTable {
  bool masked_lm = false;          // false: next-token predictions (decoder); true: fillers of a masked position
  int64_t k = 0;
  std::vector<int> layers;         // one per row
  std::vector<int64_t> positions;  // token index of each column
  std::vector<std::string> input;  // the input token at each column (the mask token for masked_lm)
  std::vector<std::string> target; // decoder: the token that actually follows (or "" at the end); MLM: the
                                   // token that was masked
  std::vector<Prediction> top;     // rows x cols x k, row-major

  int64_t rows() const { return int64_t(layers.size()); }
  int64_t cols() const { return int64_t(positions.size()); }
  const Prediction& at(int64_t row, int64_t col, int64_t rank) const { return top[size_t((row * cols() + col) * k + rank)]; }
};

// Logits [len, V] (model dtype, model device) of the head applied to hidden_states[layer] of one sequence.
at::Tensor lens_logits(const models::Transformer& model, const at::Tensor& hidden, int layer);

// The decoder lens from states already computed: hidden[L] = hidden_states[L] of `ids`, [len, d], for
// L = 0..n_layers (what a forward capturing hidden_states.0..n returns). InputError for an encoder (use
// mlm_fillers) or a model without an LM head.
LensTable logit_lens_from_states(const models::Transformer& model, const tok::Tokenizer& tokenizer,
                                 const std::vector<int32_t>& ids, const std::vector<at::Tensor>& hidden, int64_t k);

// Runs the forward (hidden_states of every layer, under `run`: mask mode included) and applies the lens.
LensTable logit_lens(const models::Engine& engine, const tok::Tokenizer& tokenizer, const std::vector<int32_t>& ids,
                     int64_t k, const models::RunOptions& run);

// The id the encoder's masked LM uses: <mask> or [MASK]; InputError naming the tokenizer when it has neither.
int32_t mask_token_id(const tok::Tokenizer& tokenizer);

// The encoder lens: ids[position] replaced by the mask token, one forward, the masked-LM head on that
// position's state at every layer. InputError for a decoder, a model without a masked-LM head, a position
// outside the input.
LensTable mlm_fillers(const models::Engine& engine, const tok::Tokenizer& tokenizer, const std::vector<int32_t>& ids,
                      int64_t position, int64_t k, const models::RunOptions& run);

// layer,position,input,target,rank,id,token,prob,logit — one row per prediction.
std::string lens_csv(const LensTable& table);

// The table as a figure for the plot renderer: top-1 probability by layer (rows) and position (columns),
// each cell labelled with its top-1 token.
plot::Heatmap lens_heatmap(const LensTable& table, const std::string& title);

}  // namespace ps::lens
