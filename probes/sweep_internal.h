#pragma once
// Internal pieces of run_probe_sweep (sweep*.cpp only): resolved training settings, one layer's
// datasets with their control labels, one fit, and the results files.
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "probes/ast_probe.h"
#include "probes/baselines.h"
#include "probes/linear.h"
#include "probes/structural.h"
#include "probes/sweep.h"

namespace ps::probes::sweep {

// results.json: written by Results (sweep_results.cpp), read back by it on resume and by read_results.
inline constexpr const char* kResultsFormat = "probescope-probe-results/1";
// The parsed file, checked to be a results document; InputError naming the file otherwise.
nlohmann::json read_results_json(const std::string& path);

struct Settings {
  ProbeKind kind = ProbeKind::ast;
  int epochs = 20, batch_size = 32, patience = 5;
  int steps_per_epoch = 625;
  NormalizeMode normalize = NormalizeMode::scale;
  double lr = 1e-3;
  int threads = 0;
  AstProbeConfig::Bf16 bf16 = AstProbeConfig::Bf16::off;
};
Settings resolve(const SweepOptions& o);
// What must match for a rerun to reuse rows (threads and the lists of stores/layers/k/seeds need not).
nlohmann::json settings_json(const SweepOptions& o, const Settings& s);

// One layer of one store, as every fit of that layer uses it.
struct LayerData {
  ProbeKind kind = ProbeKind::ast;
  int layer = 0;
  ProbeDataset ast[3];
  StructuralDataset structural[3];
  TokenDataset tokens[3];
  std::vector<std::vector<int32_t>> types[3];  // per split, per snippet
  Normalization norm;                          // fitted on the train split, applied to all three
  std::vector<std::vector<uint8_t>> identical_test;  // AST: adjacent test words with identical vectors
};
LayerData make_layer_data(ProbeKind kind, LayerSplits& splits, const StoreLabels& labels, NormalizeMode normalize);

// The layer-independent AST-Probe baselines of a store (gold labels only; no vectors needed).
std::vector<BaselineScore> store_label_baselines(const StoreLabels& labels, const std::vector<uint64_t>& seeds);

struct FitRequest {
  int k = 0;
  uint64_t seed = 0;
  bool control = false;
  std::string probe_path;                        // where the fitted probe is saved
  std::map<std::string, std::string> metadata;  // stored in the probe file
};

// Trains on train, selects on valid, evaluates on test; saves the probe; returns the row's metrics
// (plus epochs, best_epoch, seconds, sizes and, for ast/linear, per_label recall).
nlohmann::json fit_one(LayerData& data, const StoreLabels& labels, const Settings& s, const FitRequest& req,
                       const SweepOptions& opt);

// Metric columns of results.csv per kind (the one selectivity is computed on: main_metric, sweep.h),
// then "valid_<main metric>" (what chooses layer and k).
const std::vector<std::string>& metric_columns(ProbeKind kind);
// Validation loss terms and their priors per kind ("valid_loss_c", "prior_c", ...).
const std::vector<std::string>& term_columns(ProbeKind kind);

// OUT/results.json, results.csv, summary.csv. Loading checks the settings; every add() rewrites all
// three files atomically.
class Results {
 public:
  Results(const std::string& out_dir, const nlohmann::json& settings, ProbeKind kind);
  static std::string key(const std::string& model, const std::string& language, int layer, int k, uint64_t seed,
                         bool control);
  bool has(const std::string& key) const { return keys_.count(key) > 0; }
  void add(nlohmann::json row);
  // Many rows, one rewrite of the files (join_sweep_results).
  void add_all(std::vector<nlohmann::json> rows);
  // The slice this sweep ran and its cells (Results::key), recorded in results.json as "grid".
  void set_grid(nlohmann::json grid) { grid_ = std::move(grid); }
  // Baselines as recorded in results.json (join_sweep_results).
  void add_baseline_json(const nlohmann::json& b) { baselines_.push_back(b); }
  // Replaces the baseline with the same (model, language, name, layer) and rewrites the files.
  void set_baseline(const std::string& model, const std::string& language, const BaselineScore& b);
  const std::string& baselines_path() const { return baselines_path_; }
  const std::string& json_path() const { return json_path_; }
  const std::string& csv_path() const { return csv_path_; }
  const std::string& summary_path() const { return summary_path_; }

 private:
  void write() const;
  std::string dir_, json_path_, csv_path_, summary_path_, baselines_path_;
  std::vector<nlohmann::json> baselines_;
  nlohmann::json settings_, grid_;
  ProbeKind kind_;
  std::vector<nlohmann::json> rows_;
  std::set<std::string> keys_;
};

}  // namespace ps::probes::sweep
