#pragma once
// Intrinsic dimension by layer, straight from an activation store: one layer's vectors are loaded at a time,
// subsampled (seeded) to a point budget, and every requested estimator runs on the same points.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "analysis/id/intrinsic_dimension.h"
#include "models/util/progress.h"

namespace ps::analysis {

struct LayerSweepOptions {
  std::vector<int> layers;                 // empty = every layer the store has
  std::vector<std::string> estimators = {"twonn", "mle", "pca"};
  std::string points = "words";            // words (per code token), snippets (mean over a snippet's words), tokens
  int64_t max_points = 20000;              // seeded subsample when there are more (0 = all)
  int ci_reps = 100;                       // bootstrap repetitions for the interval (0 = none)
  double confidence = 0.95;
  int mle_k1 = 10, mle_k2 = 20;
  bool mle_unbiased = false;
  double twonn_fraction = 0.9;
  double pca_fraction = 0.9;
  std::vector<int> blocks;                 // block analysis sizes (e.g. 1,2,4,8); empty = none
  int threads = 2;
  uint64_t seed = 0;
  // Each layer's points before estimating: none, scale (one scalar per layer: unit RMS per coordinate) or
  // standardize (per coordinate mean 0, variance 1, so a few rogue high-variance dimensions cannot dominate
  // PCA or the distances). Statistics come from all of the layer's points (ID has no held-out split).
  // TwoNN, MLE and PCA fractions are invariant to one global scale, so scale changes no estimate.
  std::string normalize = "scale";
};

struct LayerIdRow {
  std::string model, store;
  int layer = 0;
  std::string estimator;     // twonn | mle | pca90 (components for pca_fraction) | pr (participation ratio)
  double id = 0, lo = 0, hi = 0;  // lo/hi NaN without an interval
  int64_t n_points = 0, n_used = 0, n_duplicates = 0;
  double seconds = 0;
};

struct LayerBlockRow {
  std::string model;
  int layer = 0;
  std::string estimator;
  BlockRow block;
};

struct LayerSweepResult {
  std::vector<LayerIdRow> rows;
  std::vector<LayerBlockRow> blocks;
};

// Throws InputError (naming the store) for a missing layer, an unknown estimator or too few points.
LayerSweepResult id_by_layer(const std::string& store_path, const LayerSweepOptions& opt, Progress* progress = nullptr);

// One store and the layers to sweep in it (empty = every layer it has).
struct IdStoreJob {
  std::string store;
  std::vector<int> layers;
};

struct IdSweepRun {
  LayerSweepResult result;  // every finished layer, store by store
  bool complete = false;    // false: stopped by progress->cancel() before the last layer
  int64_t layers_reused = 0;
  std::string csv;          // dir/id.csv once complete (empty without a dir)
};

// id_by_layer over the stores (opt.layers is replaced by each job's), resumable when dir is given:
// each finished layer's rows go at once into dir/id.layers.json with the sweep's identity (the estimator
// settings, the jobs, each store's size and modification time), and id.csv/id.json/id_blocks.csv are
// written (write_results) only when every layer finished, so a stopped sweep never leaves files that look
// complete. A rerun with the same identity reuses the finished layers instead of computing them again
// (subsamples and bootstraps are seeded by opt.seed and the layer, so the rows are the same but for the
// seconds column); another identity starts over. Without a dir nothing is written. on_layer: after each
// layer computed (not reused) and saved.
IdSweepRun run_id_sweep(const std::vector<IdStoreJob>& jobs, const LayerSweepOptions& opt, const std::string& dir,
                        Progress* progress = nullptr,
                        const std::function<void(const std::string& store, int layer)>& on_layer = {});

// CSV with a header: model,store,layer,estimator,id,lo,hi,n_points,n_used,n_duplicates,seconds.
std::string to_csv(const std::vector<LayerIdRow>& rows);
std::string blocks_to_csv(const std::vector<LayerBlockRow>& rows);
std::string to_json(const LayerSweepResult& r, const LayerSweepOptions& opt);

// Writes dir/id.csv, dir/id.json and, when there are block rows, dir/id_blocks.csv (each atomically, the
// directory created): what `probescope id --out` and the desktop app write. Returns the id.csv path.
std::string write_results(const std::string& dir, const LayerSweepResult& r, const LayerSweepOptions& opt);

}  // namespace ps::analysis
