#pragma once
// A probe sweep over stores × layers × k × seeds (× real/control), straight from HDF5 stores: each
// store's labels are read once, each layer's vectors once and shared by every k and seed. Results go
// to OUT/results.json + results.csv (one row per fit: test metrics, the validation main metric that
// selects layer and k, converged, validation loss terms beside their priors), OUT/summary.csv
// (mean/std over seeds), OUT/baselines.csv (AST-Probe: the trivial baselines and the alignment cap on
// the store's own gold trees, probes/baselines.h; also under "baselines" in results.json) and
// OUT/probes/*.safetensors, all written atomically after every fit; a rerun with the same settings
// skips the fits already in results.json (resume after Ctrl-C or kill).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/util/error.h"
#include "models/util/progress.h"
#include "probes/normalize.h"
#include "probes/store_data.h"

namespace ps::probes {

enum class ProbeKind { ast, distance, depth, linear };
const char* kind_name(ProbeKind k);
// The metric selectivity and overviews use: f1_macro, uuas, spearman (depth) or accuracy (linear).
const char* main_metric(ProbeKind kind);
ProbeKind parse_kind(const std::string& name);  // InputError on anything else

struct SweepOptions {
  ProbeKind kind = ProbeKind::ast;
  std::vector<std::string> stores;
  std::string layers = "all";      // "all", "0,4,8", "-1" (negative: from the end of the stored layers)
  std::vector<int> ks = {128};     // AST-Probe: rank of P; distance/depth: rank of B (0 = full); linear: ignored
  std::vector<uint64_t> seeds = {1};
  std::string out_dir;
  // Also fit the control task (labels shuffled per word type, control.h; linear and depth: a fixed
  // control label per word type, Hewitt & Liang). Its seed is the fit's seed. Not defined for distance.
  bool control = false;
  int epochs = 0, batch_size = 0, patience = 0;  // 0 = the probe kind's default (spec ast-probe.md)
  // Minibatch steps per epoch (sampling from reshuffled passes): 625 = the paper's 20,000 / 32; 0 = one
  // pass over the train split per epoch.
  int steps_per_epoch = 625;
  // Each layer's vectors are mapped with statistics from its train split (probes/normalize.h).
  NormalizeMode normalize = NormalizeMode::scale;
  double lr = 0;                                 // 0 = 1e-3
  int threads = 0;                               // > 0: intra-op threads for training
  // AST-Probe: the projection in bf16 (AstProbeConfig::bf16): "off" (exact, the default), "on", "auto".
  std::string bf16 = "off";
  SplitOptions split;
  bool log_epochs = false;                       // one log line per epoch
  // A slice of the grid for one array task: fit number g (stores → layers → k → seeds → real/control order)
  // belongs to slice g % task_count. results.json records the slice and its cells ("grid"), so
  // join_sweep_results can tell a missing cell from one that belongs to another slice.
  int task_index = 0, task_count = 1;
  Progress* progress = nullptr;                  // advanced once per fit; cancel() stops at the next epoch
  std::function<void(const std::string&)> log;   // one line per fit (and per epoch with log_epochs)
};

struct SweepResult {
  int fits_trained = 0, fits_skipped = 0;
  std::string results_json, results_csv, summary_csv;
  std::string baselines_csv;  // AST-Probe only
};

// Thrown when options.progress was cancelled; everything finished before is saved.
class SweepCancelled : public RuntimeError {
 public:
  SweepCancelled() : RuntimeError("cancelled; rerun the same command to resume") {}
};

// Throws InputError for bad options, unreadable stores, or an OUT/results.json written with different
// settings (kind, epochs, batch size, lr, patience, split) — resuming must not mix settings.
SweepResult run_probe_sweep(const SweepOptions& opt);

// Joins sweeps' results.json files into out_dir (results.json/csv, summary.csv with means and spreads over
// seeds recomputed, baselines.csv): `groups` are sweeps, each a list of the slices of one grid (probe --task
// i/N), all of one probe kind. Within a group every slice must be there once and hold exactly its recorded
// cells; a cell in two slices, or in two groups with different settings, is an InputError naming the cell and
// both files. A cell in two groups with equal settings is the same fit (deterministic): kept once. Baselines
// are joined per (model, language, baseline, layer), keeping the one over more seeds.
void join_sweep_results(const std::vector<std::vector<std::string>>& groups, const std::string& out_dir);

// "i/N" → (i, N) with 0 <= i < N; InputError naming `flag` otherwise.
std::pair<int, int> parse_task_slice(const std::string& text, const std::string& flag);

// "1,2,3" → {1,2,3}; InputError names the flag on malformed input.
std::vector<int> parse_int_list(const std::string& text, const std::string& flag);

}  // namespace ps::probes
