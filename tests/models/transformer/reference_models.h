#pragma once
// Independent reference forward passes, written apart from models/transformer: they read config.json
// and model.safetensors directly by Hugging Face names and follow the modeling_*.py code of
// transformers (GPT2Model, RobertaModel, LlamaModel/Qwen2Model) for ONE unpadded sequence, in float64
// with explicit per-head loops. Outputs mirror HF's output_hidden_states / output_attentions.
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace ps::test {

struct RefOutput {
  std::vector<at::Tensor> hidden_states;  // n_layers + 1 tensors [S, d]
  std::vector<at::Tensor> attentions;     // n_layers tensors [H, S, S]
  at::Tensor logits;                      // [S, V] (undefined if the checkpoint has no LM head)
};

// model_type decides the family; ids are one sequence (positions 0..S-1).
RefOutput reference_forward(const std::string& model_dir, const std::vector<int64_t>& ids);

}  // namespace ps::test
