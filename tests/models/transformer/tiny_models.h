#pragma once
// Test fixture: tiny random models (d=32, 2 layers, 4 heads) written in the real Hugging Face layout
// (config.json with HF's field names, model.safetensors with HF's tensor names and shapes).
#include <ATen/core/Tensor.h>

#include <map>
#include <string>

namespace ps::test {

enum class Tiny { GPT2, RoBERTa, LLaMA /*GQA 4q/2kv*/, LLaMALinearRope, Qwen2 /*qkv biases, tied*/ };
const char* tiny_name(Tiny t);
constexpr int64_t kTinyVocab = 50;

struct TinySpec {
  std::string config_json;
  std::map<std::string, at::Tensor> tensors;  // HF names → float32 tensors
};

// Vocabulary and position-table sizes; other tests (extraction) pair the model with a real tokenizer.
struct TinyDims {
  int64_t vocab = kTinyVocab;
  int64_t positions = 64;
};

// Deterministic in seed. Weights are drawn larger than HF's 0.02 so attention is far from uniform.
TinySpec tiny_spec(Tiny kind, uint64_t seed = 1, TinyDims dims = {});

// Writes config.json + model.safetensors (tensors stored as F32, or BF16 if bf16) into dir (created).
void write_model(const std::string& dir, const TinySpec& spec, bool bf16 = false);

// A fresh temporary directory under the system temp dir (removed by the OS, not by the tests).
std::string temp_dir(const std::string& tag);

// Writes tiny_spec(kind) into a fresh temp dir and returns the dir.
std::string write_tiny(Tiny kind, uint64_t seed = 1);

}  // namespace ps::test
