#pragma once
// Sweeps of d and the d90 search (Aghajanyan et al.: d90 = the smallest d whose task metric reaches
// >= 90% of full fine-tuning's). The metric is the validation accuracy (best over a run's evaluations; the
// final one unless eval_every is set). Search: the full baseline first, then the geometric sweep in
// ascending order until the first d that reaches the target, then bisection (geometric midpoints) between
// the last d below the target and that one. Accuracy is not guaranteed monotonic in d, so every run is
// kept in the curve and d90 is the smallest d observed to reach the target.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "analysis/said/finetune.h"

namespace ps::said {

struct SweepOptions {
  FinetuneOptions run;       // mode (said/did), head, pool, steps, batch, lr, seed for every subspace run
  double full_lr = 1e-4;     // Adam learning rate of the full fine-tuning baseline
  std::vector<int64_t> ds;   // the sweep; empty with search_d90 = 10, 30, 100, 300, ... up to max_d
  bool run_full = true;      // needed for the 90% target; without it only the curve is reported
  bool search_d90 = false;
  double target = 0.9;
  int64_t max_d = 0;         // default sweep bound (0 = the size of θ)
  int64_t max_bisect = 6;    // bisection runs at most
  double tolerance = 0.1;    // bisection stops when hi - lo <= max(1, tolerance * lo)
};

struct SweepResult {
  std::optional<RunResult> full;
  std::vector<RunResult> runs;  // in the order they ran
  double threshold = 0;         // target × full accuracy (0 without the baseline)
  std::optional<int64_t> d90;   // smallest d reaching the threshold
  int64_t d90_below = 0;        // largest d run below d90 that missed it (0 = none)
  bool cancelled = false;
};

// 10, 30, 100, 300, ... (alternating ×3 and ×10/3) up to max_d inclusive.
std::vector<int64_t> geometric_ds(int64_t max_d);
// "10,100,1000" → sorted unique positive values; InputError otherwise.
std::vector<int64_t> parse_ds(const std::string& text);

// Observer of each finished run ("full", "sweep" or "bisect", with the result so far: its threshold is set
// once the baseline ran; reused: taken from `reuse`, not run), a Progress per run (may return null), and
// finished runs to take instead of running (mode, d) again (resume; nullopt = run it; d = 0 for full).
struct SweepHooks {
  std::function<void(const RunResult&, const std::string& phase, const SweepResult& so_far, bool reused)> on_run;
  std::function<std::shared_ptr<Progress>(const std::string& label, int64_t steps)> progress;
  std::function<std::optional<RunResult>(Mode mode, int64_t d)> reuse;
};

SweepResult sweep(const std::shared_ptr<const models::Transformer>& model, const TaskData& data,
                  const SweepOptions& opt, const SweepHooks& hooks = {});

// The curve, one row per run (full first): mode,d,trainable,theta_size,valid_acc,best_valid_acc,
// initial_valid_acc,train_loss,steps,seconds_per_step,reaches_target.
std::string curve_csv(const SweepResult& r);
nlohmann::json run_json(const RunResult& r);
RunResult run_from_json(const nlohmann::json& j);  // inverse of run_json (per-step losses are not kept)
nlohmann::json sweep_json(const SweepResult& r, const SweepOptions& opt);
// Writes dir/curve.csv and dir/said.json (atomically; dir is created). `meta` is merged into the JSON.
void write_sweep(const std::string& dir, const SweepResult& r, const SweepOptions& opt, const nlohmann::json& meta);

}  // namespace ps::said
