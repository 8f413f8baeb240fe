#pragma once
// FlexRound (Lee et al., ICML 2023), as the official code runs it on LLaMA (robotseye/FlexRound_LRQ
// quant/UniformAffineQuantizer.py mode='flexround', quant/REM_fast.py; spec interventions.md §5(a)),
// generalised to every family here (GPT-2's Conv1D weights are quantised in the model's [out, in] layout,
// so the output channel is dim 1 of the stored tensor).
//
// One weight W [out, in]: learnable log-scales δ1 [out,1] (init log s of RTN's min/max grid), δ2 [out,in]
// (init 0), δ3 [out,1] (init 0); zero-point fixed at init.
//   Ŵ = exp(δ1) · clamp(round_STE(W / (exp(δ1)·exp(δ2 + δ3))), lo, hi)   (= s1·⌊W / (s1 ⊙ S2 ⊙ s3)⌉)
// lo, hi = −zp, 2^b−1−zp (asymmetric) or −2^(b−1), 2^(b−1)−1 (symmetric). The divisor is exp(δ1)·exp(δ2+δ3),
// the authors' exp(δ1+δ2+δ3) factored so that at initialisation it is exactly RTN's scale (exp(0) = 1).
//
// Block-wise reconstruction: for each block k in order, input X_q = the output of blocks 0..k−1 already
// quantised (on the calibration sequences), target Y = the full-precision block k on full-precision inputs;
// minimise lp_loss(Block_q(X_q), Y) = Σ over dim 1 of (·)² then mean (p = 2, the authors' lp_loss) with Adam
// (β 0.9/0.999, eps 1e-8) over every δ of the block, learning rate cosine-annealed to 0 over `iters` steps
// (CosineAnnealingLR, T_max = iters), batches of `batch` calibration sequences in a seeded shuffled order per
// epoch (their DataLoader(shuffle=True)). Then Ŵ is frozen and the next block's input is recomputed through
// the quantised block. No AdaRound regulariser, no QDrop mixing (both unused in the authors' LLM path).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "models/intervene/quantize_rtn.h"
#include "models/intervene/quantize_spec.h"
#include "models/transformer/transformer.h"
#include "models/util/progress.h"

namespace ps::models {

class FlexRoundWeight {
 public:
  // w [out, in] (float32, copied); the grid is minmax_grid(w, bits, per_channel, symmetric).
  FlexRoundWeight(const at::Tensor& w, int bits, bool per_channel, bool symmetric);
  at::Tensor forward() const;  // Ŵ, differentiable in δ1, δ2, δ3
  std::vector<at::Tensor> parameters() const { return {d1_, d2_, d3_}; }
  const at::Tensor& delta1() const { return d1_; }
  const at::Tensor& delta2() const { return d2_; }
  const at::Tensor& delta3() const { return d3_; }
  const QuantGrid& init_grid() const { return grid_; }
  // Ŵ as codes on the learned grid: scale exp(δ1), the init zero-point; dequant == forward() bit for bit.
  QuantizedWeight freeze() const;

 private:
  at::Tensor w_, d1_, d2_, d3_, lo_, hi_;
  QuantGrid grid_;
};

// lp_loss(pred, target) with p = 2: (pred − target)² summed over dim 1, then the mean of the rest.
at::Tensor lp_loss(const at::Tensor& pred, const at::Tensor& target);

struct FlexRoundBlockReport {
  int64_t block = 0;
  double loss_rtn = 0, loss_final = 0;        // lp_loss over every calibration sequence
  double rel_err_rtn = 0, rel_err_final = 0;  // Σ(Ŷ − Y)² / ΣY² over every calibration sequence
  double codes_changed = 0;                   // fraction of this block's weights whose code differs from RTN's
  double seconds = 0;
};

struct FlexRoundRun {
  QuantizeSpec spec;                                 // bits, per, sym, iters, batch, lr, seed
  std::vector<std::vector<int32_t>> calibration;     // token ids, every sequence the same length
  std::vector<std::string> keys;                     // canonical keys to learn (block linears only)
  std::string work_dir;                              // per-block state for resume ("" = none)
  int64_t stop_after_blocks = 0;                     // finish at most this many blocks in this call (0 = all)
  Progress* progress = nullptr;                      // iterations; cancel() stops at the next step
  // Called with block k's reconstruction input X_q [N, S, d] before block k is trained (tests).
  std::function<void(int64_t block, const at::Tensor& inputs)> on_block_inputs;
};

struct FlexRoundResult {
  std::map<std::string, QuantizedWeight> weights;  // by canonical key
  std::vector<FlexRoundBlockReport> blocks;        // every finished block, resumed ones included
  int64_t blocks_done = 0, blocks_total = 0;
  bool complete() const { return blocks_done == blocks_total; }
};

// Runs (or resumes from run.work_dir) the block-by-block reconstruction on `model` (float32). The work dir
// holds state.json and block-K.safetensors after each finished block; a state made for other settings,
// weights or calibration data is discarded (with a line on stderr) and the run starts afresh.
FlexRoundResult flexround_quantize(const Transformer& model, const FlexRoundRun& run);

}  // namespace ps::models
