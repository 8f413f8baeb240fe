#pragma once
// Coordinate check (Yang et al., Tensor Programs V, and microsoft/mup's coord check): train the same model
// at several widths for a few Adam steps on the same rows and record the mean |x| per coordinate of the
// embedding output, each block's attention output, MLP output and block output, and the logits, after
// 0, 1, ..., steps updates. Under muP these stay the same across widths (the update of every layer is
// width-independent); under SP the hidden and output layers' updates grow with the width and the scales
// blow up. The check's verdict per parametrization is the largest ratio max/min across widths over all
// hooks and recorded steps; muP passes when it is at most the tolerance (the 1.2).
// Learning rate constant, no clipping, so nothing hides the effect of the parametrization.
#include <cstdint>
#include <string>
#include <vector>

#include "models/train/trainer.h"

namespace ps::train {

struct CoordCheckOptions {
  TrainOptions train;  // tokenizer, objective, shape (d_model = each width; base_width for mup), lr, betas,
                       // weight_decay, seed, threads, batch_tokens; steps/schedule/out_dir unused
  std::vector<int64_t> widths{64, 128, 256, 512};
  std::vector<std::string> parametrizations{"sp", "mup"};
  int64_t steps = 4;
  int64_t seeds = 3;  // each scale is the mean over this many runs (seeds seed, seed + 1, ...: init, data, masks)
  double tolerance = 1.2;
};

struct CoordCheckVerdict {
  std::string parametrization;
  double max_ratio = 1;     // max over hooks and steps of (max over widths) / (min over widths)
  std::string worst_hook;
  int64_t worst_step = 0;
  double last_growth = 1;   // at the last step: geometric mean over hooks of (widest / narrowest)
  bool within = true;       // max_ratio <= tolerance
};

struct CoordCheckResult {
  std::vector<std::string> hooks;  // in forward order; "logits" last
  std::vector<int64_t> widths;
  int64_t steps = 0;
  // mean_abs[p][w][t][h]: parametrization p, width w, after t updates (0..steps), hook h
  std::vector<std::vector<std::vector<std::vector<double>>>> mean_abs;
  std::vector<std::vector<double>> loss;  // [p][w] loss of the last recorded forward
  std::vector<CoordCheckVerdict> verdicts;
};

CoordCheckResult coord_check(const CoordCheckOptions& opt, const std::vector<std::string>& train_docs);

}  // namespace ps::train

namespace ps::train {
// The result as text: per parametrization a table (rows: hook x step, columns: widths, last column the
// ratio max/min across widths), then one verdict line each.
std::string coord_check_report(const CoordCheckResult& r, double tolerance);
}  // namespace ps::train
