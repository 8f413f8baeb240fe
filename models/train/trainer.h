#pragma once
// Pre-training of a small model from scratch on CPU (or any LibTorch device the model runs on): a causal
// LM (GPT-2 or LLaMA style, objective "clm") or a RoBERTa-style masked-LM encoder (objective "mlm",
// post-LN, 15% of tokens masked 80/10/10, loss on the masked positions only, lm_data.h's mlm_rows);
// packed rows (lm_data.h), AdamW with linear warmup + cosine decay and gradient clipping (optim.h), SP
// or muP (mup.h), optional bf16 autocast (used under "auto" only if measured faster), periodic Hugging
// Face checkpoints and exact resume (run_dir.h).
//
// Resume: train_lm on an out_dir holding checkpoints continues from the newest one (weights, AdamW state,
// step, tokens, logs); the data position is a function of the step (lm_data.h) and nothing else is
// random after initialisation, so kill + rerun gives the same parameters as an uninterrupted run.
// The run's identity (config, tokenizer and document hashes, seed, batch, schedule) must match.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/train/hf_checkpoint.h"
#include "models/train/lm_data.h"
#include "models/train/mup.h"
#include "models/transformer/transformer.h"
#include "models/util/progress.h"

namespace ps::tok {
class Tokenizer;
}

namespace ps::train {

struct TrainOptions {
  LmShape shape;               // vocab_size and eos_id are taken from the tokenizer
  std::string tokenizer_path;  // tokenizer.json (copied into every checkpoint)
  std::string objective = "clm";  // clm (next token; gpt2, llama) | mlm (masked tokens; roberta)
  std::string eos_token;          // document separator; "" = <|endoftext|> (clm) or </s> (mlm)
  // mlm: the tokenizer's mask and padding tokens (both required) and <s> (optional, config only).
  std::string mask_token = "<mask>", pad_token = "<pad>", bos_token = "<s>";
  double mask_prob = 0.15;
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
  int64_t eval_tokens = 65536;      // validation targets (mlm: input tokens) per periodic evaluation (the final one uses all)
  int threads = 0;                  // 0: all hardware threads
  std::string bf16 = "auto";        // auto | on | off
  int64_t stop_after = 0;           // > 0: stop after this many steps of this invocation
  bool checkpoint_on_stop = true;   // false: stop as a kill would (tests)
  // Optional, one per validation document: the final evaluation also scores each language on its own
  // (valid_by_language.csv in out_dir and in the final checkpoint).
  std::vector<std::string> valid_languages;
  // SPDF (sparsity.h): < 0 dense. s in [0, 1): a static random mask on every block attention/MLP matrix from
  // initialisation until update number sparse_until (< 0: the whole run), then dense.
  double sparsity = -1;
  int64_t sparse_until = -1;
  // Non-empty: start from this model's weights (HF directory or step checkpoint) instead of a random init.
  std::string init_from;
  // With init_from: the run may be deeper than that model (--layers a multiple of its blocks); block i starts
  // from its block i mod L0, the whole stack repeated on top of itself (progressive stacking, Gong et al. 2019).
  bool init_stack = false;
};

struct LanguageEval {
  std::string language;
  int64_t documents = 0, tokens = 0;  // tokens = targets scored (mlm: masked tokens)
  double loss = 0, ppl = 0, unigram_ppl = 0;
};

struct TrainResult {
  int64_t start_step = 0, end_step = 0, tokens = 0, parameters = 0, valid_tokens = 0;
  double seconds = 0;  // training wall time over all invocations
  double valid_loss = 0, valid_ppl = 0, unigram_ppl = 0;  // last evaluation (all of valid at the end)
  bool bf16 = false, complete = false;
  std::string last_checkpoint;
  std::shared_ptr<models::Transformer> model;  // the in-memory model at the end (float32)
  std::vector<LanguageEval> by_language;       // final evaluation per valid_languages entry (sorted by name)
  nlohmann::json flops;                        // sparse runs: training FLOPs beside the dense twin (flops.json)
};

// Tokenizes the documents (one per string), then trains. progress counts steps (extra: tokens).
TrainResult train_lm(const TrainOptions& opt, const std::vector<std::string>& train_docs,
                     const std::vector<std::string>& valid_docs, Progress* progress = nullptr);

// mlm validation masks (mlm_rows' seed): independent of the run's seed, so runs with other seeds are
// scored on the same masked targets.
constexpr uint64_t kValidMaskSeed = 0x76616c6964ull;  // "valid"

// The shape train_lm uses for these options and tokenizer: vocab and special ids filled in, the objective
// checked against the arch, the readout untied under muP. The same for the coordinate check.
LmShape resolve_shape(const TrainOptions& opt, const tok::Tokenizer& tok);
// The masking for an mlm run with this tokenizer.json text (mask id, never-masked specials, vocab).
MlmMasking mlm_masking(const TrainOptions& opt, const std::string& tokenizer_json, int64_t vocab_size);

// Fresh weights: Hugging Face's init (Transformer::random_init) plus, for roberta, the masked-LM head
// (RobertaLMHead: dense N(0, 0.02), LayerNorm 1/0, bias 0, an untied decoder N(0, 0.02)), then rescaled
// by the parametrization (mup.h). Deterministic in seed.
std::shared_ptr<models::Transformer> init_model(const LmShape& shape, const models::ArchSpec& arch, uint64_t seed);

// Mean cross-entropy (nats) over a batch's targets (next tokens, or the masked tokens of mlm_rows); with
// grad, the graph reaches the model's parameters.
at::Tensor lm_loss(const models::Transformer& model, const LmBatch& batch, bool grad);

}  // namespace ps::train
