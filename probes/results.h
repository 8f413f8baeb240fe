#pragma once
// Reading and summarising a probe sweep's results (written by run_probe_sweep, probes/sweep_results.cpp):
// OUT/results.json (format probescope-probe-results/1, every field) and OUT/results.csv (one row per fit).
// The faces (probescope probe, the GUI) read them through here instead of parsing the files themselves.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ps::probes {

// One fit: a (model, language, layer, k, seed, task) cell of the sweep.
struct ResultRow {
  std::string model, language, store;
  int layer = 0, k = 0;
  uint64_t seed = 0;
  bool control = false;                 // task "control" (else "real")
  std::map<std::string, double> values; // numeric columns: metrics, epochs, seconds, n_train, ...; NaN if empty
  std::string probe;                    // the saved probe, resolved against the results file's folder; "" if none
  // values[name], or NaN when the column is absent.
  double value(const std::string& name) const;
};

// results.json or results.csv (by extension). InputError, one line, "file:line: problem" (CSV) or
// "file: problem" (JSON) for an unreadable file, a missing column or a cell that is not what it should be.
std::vector<ResultRow> read_results(const std::string& path);

// One (model, language, layer, k) of the real task: `metric` averaged over the seeds that have it, and the
// selectivity (Hewitt & Liang: that mean minus the control task's mean) when the control task was fitted.
struct ResultSummary {
  std::string model, language;
  int layer = 0, k = 0;
  int n_seeds = 0;
  double mean = 0;
  double std = 0;  // sample standard deviation over seeds (0 for one seed)
  double selectivity = 0;
  bool has_control = false;
};
// Sorted by (model, language, layer, k); cells whose rows all lack `metric` are left out.
std::vector<ResultSummary> summarise_results(const std::vector<ResultRow>& rows, const std::string& metric);

// Per (model, language): the (layer, k) with the best mean validation metric ("valid_<metric>") over seeds,
// real task, and the test metric there (mean ± std over the same seeds). Choosing on test would let the
// test split pick its own best cell. Models without validation values are left out.
struct ValidationChoice {
  std::string model, language;
  int layer = 0, k = 0, n_seeds = 0;
  double valid_mean = 0, test_mean = 0, test_std = 0;
};
std::vector<ValidationChoice> select_on_validation(const std::vector<ResultRow>& rows, const std::string& metric);

// The AST-Probe baselines a sweep wrote ("baselines" in results.json, probes/baselines.h); empty when the
// file has none. InputError naming the file when they are malformed.
struct BaselineRow {
  std::string model, language, name;
  int layer = -1;  // gold_through_alignment: the layer; else -1
  double f1_mean = 0, f1_std = 0;
  int n_seeds = 0;
  int64_t identical_pairs = 0, n_pairs = 0;
};
std::vector<BaselineRow> read_baselines(const std::string& results_json);

}  // namespace ps::probes
