#pragma once
// Engine: owns one model on one device and runs token sequences through it in planned batches
// (prepacked by default). Thread-safe: the GUI and a batch job may share one Engine; forwards are
// serialised so peak memory stays bounded by one batch's token budget.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "models/transformer/prepack.h"
#include "models/transformer/transformer.h"

namespace ps::models {

// Load-time settings: fixed for an Engine's life, because the weights live on this device in this dtype.
struct LoadOptions {
  std::string device = "cpu";     // "cpu", "cuda", "cuda:1"
  std::string dtype = "float32";  // float32 | bfloat16 | float16 | auto (see choose_dtype; faces default to it)
  int threads = 0;                // 0 = all hardware threads
  // RoPE scaling override (models/config/rope_scaling.h): TYPE:factor[:key=value...] or none; "" = the
  // checkpoint's own rope_scaling. It changes the architecture, so it is fixed at load like the dtype.
  std::string rope_scaling;
};

// Run-time settings: chosen per call, so a GUI job and a batch job can share one Engine with their own budgets.
struct RunOptions {
  int64_t token_budget = 8192;    // tokens per forward (padded modes: rows × row length)
  Packing packing = Packing::Prepacked;
  // default (the family's), lm-infinite:<n_global>:<L_local>[:<limit>|none] (always runs prepacked, banded,
  // with the rotary distance cap; see masks.h), window:<W>
  std::string mask = "default";
  void validate() const;          // throws InputError naming the setting
};

// Both, for the faces that take every setting at once; an Engine keeps its RunOptions as the call default.
struct EngineOptions : LoadOptions, RunOptions {};

// The states of one input sequence, unpacked from its batch row.
struct SequenceStates {
  std::map<std::string, at::Tensor> hooks;  // [len, d] per residual hook, [heads, len, len] for patterns
};

struct RunStats {
  int64_t sequences = 0, real_tokens = 0, slots = 0, forwards = 0;
  double seconds = 0;
  double padding_fraction() const { return slots ? 1.0 - double(real_tokens) / double(slots) : 0.0; }
};

at::ScalarType dtype_from_name(const std::string& name);  // throws InputError ("auto" is resolved first)

// "auto": bfloat16 where this device's bf16 matmul measures at least 1.5x faster than float32 (CPUs with
// AVX512-BF16 or AMX: ~3x; without native bf16 it is ~10x slower), and on CUDA; else float32. Any other
// name is returned unchanged. reason (optional) gets a one-line account of the measurement.
std::string choose_dtype(const std::string& requested, const std::string& device, int threads,
                         std::string* reason = nullptr);
at::Device parse_device(const std::string& name);        // "cpu", "cuda", "cuda:N"; InputError without CUDA
int hardware_threads();
// glibc serves blocks over 32 MB with fresh mmap pages, so every [tokens, 4d] activation pays a page fault
// per 4 KB on first touch (measured: a 50 MB float add 40 ms instead of 5, LayerNorm 40 ms instead of 10).
// Keeps large blocks in the heap for reuse; process-wide, idempotent. The Engine calls it; so does the CLI.
void keep_large_allocations_in_heap();

class Engine {
 public:
  // Refuses (InputError) a model whose dtype or device differs from options: an Engine that claims bfloat16
  // on CUDA must not silently run a float32 CPU model.
  Engine(std::shared_ptr<const Transformer> model, EngineOptions options);

  const Transformer& model() const { return *model_; }
  std::shared_ptr<const Transformer> model_ptr() const { return model_; }  // for trainers that share the weights
  const EngineOptions& options() const { return options_; }
  at::Device device() const { return device_; }

  // Runs every sequence and returns its requested hooks (on CPU, float32 unless keep_dtype), in input order.
  // capture.logits adds each sequence's [len, V] logits as hooks["logits"] (the token budget bounds [T, V]).
  // on_batch (optional) is called after each forward with the number of sequences finished.
  std::vector<SequenceStates> run(const std::vector<std::vector<int32_t>>& sequences, const Capture& capture,
                                  const RunOptions& run_options, RunStats* stats = nullptr, bool keep_dtype = false,
                                  const std::function<void(int64_t)>& on_batch = {}) const;
  // The same with the run options the Engine was made with.
  std::vector<SequenceStates> run(const std::vector<std::vector<int32_t>>& sequences, const Capture& capture,
                                  RunStats* stats = nullptr, bool keep_dtype = false,
                                  const std::function<void(int64_t)>& on_batch = {}) const {
    return run(sequences, capture, options_, stats, keep_dtype, on_batch);
  }

 private:
  std::vector<SequenceStates> run_batch(const PlannedBatch& batch, const std::vector<std::vector<int32_t>>& seqs,
                                        const Capture& capture, const std::string& mask, bool keep_dtype) const;
  std::vector<SequenceStates> run_concatenated(const PackedRow& row, const std::vector<std::vector<int32_t>>& seqs,
                                               const Capture& capture, const std::string& mask, bool keep_dtype) const;
  std::shared_ptr<const Transformer> model_;
  EngineOptions options_;
  at::Device device_;
  mutable std::mutex forward_mu_;
};

}  // namespace ps::models
