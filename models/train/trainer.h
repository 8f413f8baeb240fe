#pragma once
// Causal-LM pre-training of a small GPT-2 or LLaMA-style model from scratch on CPU (or any LibTorch
// device the model runs on): packed rows (lm_data.h), AdamW with linear warmup + cosine decay and
// gradient clipping (optim.h), optional bf16 autocast (used under "auto" only if measured faster),
// periodic Hugging Face checkpoints and exact resume (run_dir.h).
//
// Resume: train_lm on an out_dir holding checkpoints continues from the newest one (weights, AdamW state,
// step, tokens, logs); the data position is a function of the step (lm_data.h) and nothing else is
// random after initialisation, so kill + rerun gives the same parameters as an uninterrupted run.
// The run's identity (config, tokenizer and document hashes, seed, batch, schedule) must match.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "models/train/hf_checkpoint.h"
#include "models/train/lm_data.h"
#include "models/transformer/transformer.h"
#include "models/util/progress.h"

namespace ps::train {

struct TrainOptions {
  LmShape shape;               // vocab_size and eos_id are taken from the tokenizer
  std::string tokenizer_path;  // tokenizer.json (copied into every checkpoint)
  std::string eos_token = "<|endoftext|>";
  std::string out_dir;
  int64_t steps = 1000;
  int64_t batch_tokens = 8192;  // per optimizer step; rows = batch_tokens / ctx
  double lr = 1e-3, min_lr = -1;  // min_lr < 0: lr / 10
  int64_t warmup = 100;
  double weight_decay = 0.1, clip = 1.0, beta1 = 0.9, beta2 = 0.95;
  uint64_t seed = 0;
  int64_t checkpoint_every = 0;     // 0: only keep_steps and the last step
  int64_t keep_last = 1;            // periodic checkpoints kept besides keep_steps and the final one
  std::vector<int64_t> keep_steps;  // checkpoints never pruned
  int64_t eval_every = 0;           // 0: steps / 20
  int64_t eval_tokens = 65536;      // validation targets per periodic evaluation (the final one uses all)
  int threads = 0;                  // 0: all hardware threads
  std::string bf16 = "auto";        // auto | on | off
  int64_t stop_after = 0;           // > 0: stop after this many steps of this invocation
  bool checkpoint_on_stop = true;   // false: stop as a kill would (tests)
};

struct TrainResult {
  int64_t start_step = 0, end_step = 0, tokens = 0, parameters = 0, valid_tokens = 0;
  double seconds = 0;  // training wall time over all invocations
  double valid_loss = 0, valid_ppl = 0, unigram_ppl = 0;  // last evaluation (all of valid at the end)
  bool bf16 = false, complete = false;
  std::string last_checkpoint;
};

// Tokenizes the documents (one per string), then trains. progress counts steps (extra: tokens).
TrainResult train_lm(const TrainOptions& opt, const std::vector<std::string>& train_docs,
                     const std::vector<std::string>& valid_docs, Progress* progress = nullptr);

// Mean next-token cross-entropy (nats) of a batch; with grad, the graph reaches the model's parameters.
at::Tensor lm_loss(const models::Transformer& model, const LmBatch& batch, bool grad);

}  // namespace ps::train
