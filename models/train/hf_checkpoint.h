#pragma once
// Writing trained models in the Hugging Face layout: config.json with the architecture's HF field names,
// model.safetensors with HF tensor names (GPT-2 Conv1D weights transposed back to [in, out]; tied heads
// stored once, as save_pretrained does), tokenizer.json beside them. Transformer::load reads them back.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>

#include "models/config/arch.h"

namespace ps::train {

struct LmShape {
  std::string arch = "gpt2";  // gpt2 | llama (causal LMs) | roberta (masked-LM encoder, post-LN)
  int64_t vocab_size = 0, layers = 4, d_model = 256, heads = 4;
  int64_t kv_heads = 0;  // llama: 0 = heads
  int64_t d_ff = 0;      // 0 = 4 d (gpt2, roberta) or 8/3 d rounded up to a multiple of 64 (llama, SwiGLU)
  int64_t ctx = 256;     // n_positions / max_position_embeddings (roberta: + pad_id + 1, its position offset)
  int64_t eos_id = 0;    // also bos_token_id unless bos_id >= 0
  int64_t bos_id = -1;   // roberta: <s>
  int64_t pad_id = -1;   // roberta: required (positions are offset by it)
  bool tie_embeddings = true;  // false under muP (the readout has its own learning rate)
  // Recorded under config.json's "probescope_parametrization" (see mup.h); the forward is standard.
  std::string parametrization = "sp";  // sp | mup
  int64_t base_width = 0;              // mup: d_model of the base model
};

// config.json text for a model of this shape (no dropout: training runs without it). InputError for an
// unknown arch or inconsistent sizes (checked by parsing the text back).
std::string lm_config_json(const LmShape& shape);

// Canonical parameters (Transformer::parameters() keys) renamed and laid out as the HF checkpoint
// stores them (base-model prefix: transformer., model., roberta. or bert.; GPT-2 Conv1D transposed; tied
// heads left out). Transformer::from_weights accepts the result.
std::map<std::string, at::Tensor> hf_named(const models::ArchSpec& arch, const std::map<std::string, at::Tensor>& canonical);

// Writes model.safetensors at path from canonical parameters (Transformer::parameters() keys), as dtype
// (float32, float16 or bfloat16). metadata gets {"format": "pt"} as HF writes.
void write_hf_weights(const std::string& path, const models::ArchSpec& arch,
                      const std::map<std::string, at::Tensor>& canonical, at::ScalarType dtype);

// Every tensor of a safetensors file, copied into CPU tensors of their stored dtype.
std::map<std::string, at::Tensor> read_safetensors(const std::string& path);
// Writes named tensors (any float dtype, converted to dtype when it is defined) to a safetensors file.
void write_safetensors(const std::string& path, const std::map<std::string, at::Tensor>& tensors,
                       at::ScalarType dtype = at::ScalarType::Undefined);

// Copies a trained checkpoint directory (config.json, model.safetensors, tokenizer.json) to out_dir with
// the weights converted to dtype; config.json's torch_dtype is updated. Optimizer state is not copied.
void export_model(const std::string& checkpoint_dir, const std::string& out_dir, at::ScalarType dtype);

const char* hf_dtype_name(at::ScalarType t);  // "float32", "float16", "bfloat16"

}  // namespace ps::train
