#pragma once
// ArchSpec: the architecture of a Hugging Face checkpoint, mapped from its config.json into one
// vocabulary shared by the three supported families (no LibTorch here).
//   GPT-2    (model_type gpt2):                 pre-LN, learned positions, Conv1D weights, causal
//   BERT     (model_type bert, roberta, xlm-roberta): post-LN, learned positions (+offset for RoBERTa),
//                                               token types, embedding LayerNorm, bidirectional
//   LLaMA    (model_type llama, mistral, qwen2): pre-RMSNorm, rotary, SwiGLU, GQA, causal
#include <cstdint>
#include <string>
#include <vector>

namespace ps::models {

enum class Family { GPT2, BERT, LLaMA };
enum class NormKind { LayerNorm, RMSNorm };
enum class Activation { GeluNew /*tanh approx*/, Gelu /*exact erf*/, Relu, Silu };
enum class PositionalKind { Learned, Rotary };
// Hugging Face's rope_type values (modeling_rope_utils) plus CLEX's training-free form (step-wise dynamic NTK).
enum class RopeScaling { None, Linear, Dynamic /*NTK*/, Llama3, Yarn, LongRope, Clex };

const char* family_name(Family f);

struct ArchSpec {
  Family family = Family::GPT2;
  std::string model_type;  // as written in config.json
  int64_t vocab_size = 0;
  int64_t d_model = 0;
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;  // == n_heads unless GQA
  int64_t head_dim = 0;    // usually d_model / n_heads (LLaMA-family configs may set it explicitly)
  int64_t d_ff = 0;
  // Longest sequence the model accepts: the position table size minus position_offset for learned
  // positions, max_position_embeddings for rotary models.
  int64_t max_positions = 0;
  int64_t max_position_embeddings = 0;  // raw config value (table rows for learned positions)
  NormKind norm = NormKind::LayerNorm;
  double norm_eps = 1e-5;
  Activation activation = Activation::GeluNew;
  PositionalKind positional = PositionalKind::Learned;
  int64_t position_offset = 0;  // added to logical positions (RoBERTa: padding_idx + 1)
  int64_t type_vocab_size = 0;  // BERT family token types (0 = none)
  double rope_theta = 10000.0;
  // RoPE scaling, resolved from config.json's rope_scaling (or an override) by apply_rope_scaling
  // (models/config/rope_scaling.h); the frequencies themselves are computed in models/transformer/rotary.cpp.
  RopeScaling rope_scaling = RopeScaling::None;
  double rope_factor = 1.0;
  double rope_attention_factor = 1.0;  // multiplies both cos and sin (HF attention_scaling)
  double rope_low_freq_factor = 1.0, rope_high_freq_factor = 4.0;  // llama3
  // The trained length the scaling refers to: rope_scaling.original_max_position_embeddings, else (llama3) 8192,
  // else max_position_embeddings (longrope: also the top-level Phi-3 field); 0 = max_position_embeddings.
  int64_t rope_original_max_positions = 0;
  double rope_beta_fast = 32.0, rope_beta_slow = 1.0;  // yarn
  bool rope_truncate = true;                           // yarn: floor/ceil the correction range
  std::vector<double> rope_short_factor, rope_long_factor;  // longrope, head_dim/2 each
  int64_t rope_max_factor = 16;                        // clex: the largest step t
  int64_t config_original_max_position_embeddings = 0;  // top-level config.json field (Phi-3), 0 = absent
  std::string rope_scaling_json;  // the rope_scaling object applied, compact JSON ("" = none): for manifests
  bool qkv_bias = true;        // biases on the q/k/v projections
  bool o_bias = true;          // bias on the attention output projection
  bool mlp_bias = true;        // biases on the MLP projections
  bool causal = true;          // GPT-2/LLaMA causal, BERT bidirectional
  int64_t sliding_window = 0;  // Mistral-style config value, recorded only (0 = none); masks are the caller's choice
  int64_t pad_token_id = -1, bos_token_id = -1, eos_token_id = -1;  // -1 = not set
  bool tie_word_embeddings = true;
  double initializer_range = 0.02;
};

// Reads and validates config.json. Unknown model_type, missing or ill-typed fields →
// InputError("<path>: field 'x': problem").
ArchSpec load_arch(const std::string& config_json_path);
// Same, from JSON text; `source` names the file in error messages.
ArchSpec parse_arch(const std::string& json_text, const std::string& source);

}  // namespace ps::models
