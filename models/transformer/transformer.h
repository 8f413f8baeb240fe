#pragma once
// One generic transformer covering the GPT-2, BERT/RoBERTa and LLaMA (Mistral, Qwen2) families,
// built from plain ATen ops. Loads Hugging Face checkpoints (config.json + safetensors), runs a
// batched forward under a [B,S,S] attention mask and returns TransformerLens-named activations.
//
// Hooks (negative layer indices count from the end; the output map uses the names as requested):
//   hook_embed                 token embeddings
//   hook_pos_embed             learned position embeddings (GPT-2, BERT; absent for rotary models)
//   hook_token_type_embed      token-type embeddings (BERT family with type_vocab_size > 0)
//   blocks.{L}.hook_resid_pre  input of block L
//   blocks.{L}.hook_resid_mid  pre-LN: resid_pre + attn_out; post-LN (BERT): LN1(resid_pre + attn_out)
//   blocks.{L}.hook_resid_post block output (post-LN: after the block's output LayerNorm)
//   blocks.{L}.hook_attn_out   attention output after the output projection (before any residual/LN)
//   blocks.{L}.hook_mlp_out    MLP output (before any residual/LN)
//   blocks.{L}.attn.hook_pattern  [B, head, q, k] softmax probabilities (model dtype)
//   ln_final.hook_normalized   final norm output (GPT-2, LLaMA)
//   hidden_states.{l}          exactly Hugging Face's output_hidden_states[l], l in [0, n_layers]:
//                              l = 0 embedding output (BERT: after the embedding LayerNorm),
//                              0 < l < n_layers: blocks.{l-1}.hook_resid_post,
//                              l = n_layers: GPT-2/LLaMA apply the final norm before appending the last
//                              entry, so it equals ln_final.hook_normalized; BERT: blocks.{n-1}.hook_resid_post.
// All hooks are [B, S, d] except patterns. A query row whose mask is all false attends only to itself
// (its outputs are meaningless but finite, and it never leaks into other rows).
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "models/config/arch.h"
#include "models/transformer/masks.h"

namespace ps::models {

struct ForwardInput {
  at::Tensor input_ids;       // [B,S] int64
  at::Tensor position_ids;    // [B,S] int64 logical positions from 0 per sequence; undefined = 0..S-1.
                              // The model adds the family's offset (RoBERTa: padding_idx + 1).
  at::Tensor attn_mask;       // [B,S,S] bool, true = query may attend key; undefined = the family's default
                              // (causal or full) over all positions
  at::Tensor token_type_ids;  // [B,S] int64, optional (undefined = zeros)
};

// A concatenated batch: the tokens of several sequences back to back, no padding. The dense layers run
// on [T, d]; attention runs per bucket of similar-length sequences (block-diagonal by construction).
struct PackedInput {
  at::Tensor input_ids;           // [T] int64
  at::Tensor position_ids;        // [T] int64, restarting at 0 for each sequence (undefined: 0..len-1 each)
  std::vector<int64_t> lengths;   // per sequence, summing to T
  // [n,S] segment ids (0, -1 for padding) → [n,S,S] bool keep mask; empty = the family's default
  // (causal or full). Lets the Engine apply Λ or window masks without the model knowing their grammar.
  std::function<at::Tensor(const at::Tensor& seg)> mask;
  // Set: LM-Infinite with its rotary distance cap (masks.h), banded in O(len·(G+L)); `mask` is then unused.
  // Needs positions 0..len-1 per sequence (the default), since the cap rotates by within-sequence distance.
  std::optional<LmInfinite> lm_infinite;
};

struct Capture {
  std::set<std::string> hooks;  // TransformerLens names (see above) or hidden_states.{l}
  bool logits = false;
  // Training paths (LM pre-training, SAID) need the autograd graph through the weights; extraction runs
  // under InferenceMode, which is faster and holds no graph.
  bool autograd = false;
  // Attention patterns for query rows [pattern_first_row, pattern_first_row + pattern_rows) of each sequence
  // only (clipped to it; 0 rows = all), so a long input's pattern comes back band by band as [head, rows, len]
  // instead of n×n. forward_packed and the Engine honour it; forward() returns every row.
  int64_t pattern_first_row = 0, pattern_rows = 0;
};

struct ForwardOutput {
  std::map<std::string, at::Tensor> hooks;  // keyed by the requested names: [B,S,d] padded, [T,d] packed
  at::Tensor logits;                        // [B,S,V] padded, [T,V] packed, if requested
  // forward_packed only: attention patterns, one [head, len, len] per sequence.
  std::map<std::string, std::vector<at::Tensor>> sequence_patterns;
};

class Transformer {
 public:
  // Reads model_dir/config.json and model.safetensors (or model.safetensors.index.json shards);
  // F32/F16/BF16/F64 tensors are converted to dtype. Missing tensor / wrong shape / non-float dtype →
  // InputError naming the tensor and the file.
  static std::shared_ptr<Transformer> load(const std::string& model_dir, at::ScalarType dtype = at::kFloat,
                                           at::Device device = at::kCPU);
  // Builds from tensors keyed by their Hugging Face names (any of the usual prefixes, as in a checkpoint).
  static std::shared_ptr<Transformer> from_weights(const ArchSpec& arch, const std::map<std::string, at::Tensor>& tensors,
                                                   at::ScalarType dtype = at::kFloat, at::Device device = at::kCPU,
                                                   const std::string& source = "weights");
  // Same architecture, weights drawn as Hugging Face's _init_weights does: normal(0, initializer_range)
  // for linear/embedding weights (GPT-2 c_proj: std / sqrt(2 n_layer)), zero biases, norms 1/0,
  // padding_idx rows of BERT-family embeddings zeroed. Deterministic in seed.
  static std::shared_ptr<Transformer> random_init(const ArchSpec& arch, uint64_t seed, at::ScalarType dtype = at::kFloat,
                                                  at::Device device = at::kCPU);
  // A copy sharing unchanged weights, with some canonical parameters replaced (interventions:
  // quantization, pruning) and/or a modified arch (e.g. rope_scaling); shapes must match.
  std::shared_ptr<Transformer> with_changes(const ArchSpec& arch, const std::map<std::string, at::Tensor>& replaced) const;

  // Thread-safe (no mutable state); runs under at::InferenceMode. Only the layers needed are computed.
  ForwardOutput forward(const ForwardInput& in, const Capture& capture) const;
  // The same states for a concatenated batch, with no padding in any dense layer: per token they equal
  // forward() on each sequence alone (to kernel rounding). Patterns come back in sequence_patterns.
  ForwardOutput forward_packed(const PackedInput& in, const Capture& capture) const;

  // One block alone, through the same code as forward(): hidden states x [B,S,d] (what
  // blocks.{layer}.hook_resid_pre holds) → blocks.{layer}.hook_resid_post. position_ids [B,S] and attn_mask
  // [B,S,S] as in ForwardInput (undefined = 0..S-1 and the family's default). `replaced` substitutes some of
  // this block's canonical parameters (keys as in parameters(), "blocks.{layer}.attn.q.weight", same shapes
  // and dtype); with autograd the result carries the graph through them (block-wise reconstruction in
  // post-training quantization), otherwise it runs under InferenceMode.
  at::Tensor forward_block(int64_t layer, const at::Tensor& x, const at::Tensor& position_ids = {},
                           const at::Tensor& attn_mask = {}, const std::map<std::string, at::Tensor>& replaced = {},
                           bool autograd = false) const;

  const ArchSpec& arch() const { return arch_; }
  at::ScalarType dtype() const { return dtype_; }
  at::Device device() const { return device_; }
  const std::string& source() const { return source_; }
  // Every hook name this model can produce (layer indices non-negative).
  std::vector<std::string> hook_names() const;
  // "hidden_states.{l}" for HF index l (negative counts from the end: -1 = n_layers); InputError if out of range.
  std::string hidden_state_hook(int layer) const;
  int64_t num_parameters() const;  // tied embeddings counted once
  // Canonical parameters (keys as in weights_map.h), in the model's layout ([out,in] for linear weights).
  const std::map<std::string, at::Tensor>& parameters() const { return params_; }
  bool has_lm_head() const;
  // The language-model head on hidden states x [..., d] as hidden_states.{layer} holds them (HF index, 0..n_layers):
  // the logit lens. Pre-LN families (GPT-2, LLaMA) get the final norm first when layer < n_layers
  // (hidden_states.{n} already has it), then the unembedding; BERT/RoBERTa get the masked-LM head on the
  // state as it is. At layer n_layers this is exactly the forward's logits. InputError without a head.
  at::Tensor head_logits(const at::Tensor& x, int64_t layer) const;

 private:
  struct Block {
    at::Tensor ln1_w, ln1_b, qkv_w, qkv_b, q_w, q_b, k_w, k_b, v_w, v_b, o_w, o_b, ln2_w, ln2_b;
    at::Tensor in_w, in_b, gate_w, gate_b, out_w, out_b;
  };
  struct Attended {
    at::Tensor out;                          // after the output projection, shaped like h
    at::Tensor pattern;                      // padded: [B, head, q, k]
    std::vector<at::Tensor> seq_patterns;    // packed: one [head, len, len] per sequence
  };
  // Attention of one block over normalised input h, given rotary cos/sin (undefined without RoPE).
  using AttendFn = std::function<Attended(const Block&, const at::Tensor& h, const at::Tensor& cos,
                                          const at::Tensor& sin, bool want_pattern)>;

  struct BlockStep {
    Attended attended;
    at::Tensor mid, mlp_out, out;  // hook_resid_mid, hook_mlp_out, hook_resid_post
  };

  Transformer(ArchSpec arch, std::map<std::string, at::Tensor> params, std::string source);
  // A block's tensors by canonical key suffix ("attn.q.weight"); undefined where the family has none.
  static Block assemble_block(const std::function<at::Tensor(const std::string&)>& get);
  // The one block computation shared by forward, forward_packed and forward_block.
  BlockStep run_block(const Block& blk, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                      const AttendFn& attend, bool want_pattern) const;
  at::Tensor default_mask(int64_t B, int64_t S, const at::Device& device) const;
  static at::Tensor repair_empty_rows(const at::Tensor& keep);
  const at::Tensor& param(const std::string& key) const;  // undefined tensor if absent
  at::Tensor norm(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) const;
  // q, k, v as [..., heads, head_dim] with RoPE applied, for h [..., d].
  std::tuple<at::Tensor, at::Tensor, at::Tensor> project_qkv(const Block& blk, const at::Tensor& h,
                                                             const at::Tensor& cos, const at::Tensor& sin) const;
  Attended attention(const Block& blk, const at::Tensor& h, const at::Tensor& keep, const at::Tensor& cos,
                     const at::Tensor& sin, bool want_pattern) const;
  // Embeddings, blocks and final norm over ids of any shape; the hook plumbing shared by both forwards.
  // packed_lengths: the sequences of a concatenated [T] batch, so length-dependent RoPE scaling uses each
  // one's own length (padded rows are split where positions restart).
  ForwardOutput run_stack(const at::Tensor& ids, const at::Tensor& pos, const at::Tensor& token_types,
                          const Capture& capture, const AttendFn& attend,
                          const std::vector<int64_t>& packed_lengths = {}) const;
  at::Tensor mlp(const Block& blk, const at::Tensor& h) const;
  at::Tensor lm_logits(const at::Tensor& x) const;

  ArchSpec arch_;
  std::map<std::string, at::Tensor> params_;
  std::vector<Block> blocks_;
  std::string source_;
  at::ScalarType dtype_ = at::kFloat;
  at::Device device_ = at::kCPU;
};

}  // namespace ps::models
