#pragma once
// The long-running library calls the window starts in the background. Each takes a TaskContext whose
// Progress the runner polls (progress bar) and cancels (Cancel button); each returns a one-line summary
// and throws the library's typed errors on failure. No Qt here: the runner owns the threading.
#include <atomic>
#include <cstdint>
#include <string>

#include "models/util/progress.h"

namespace ps::gui {

class Session;

struct TaskContext {
  Progress progress{"gui", 0, "items", /*to_stderr=*/false};
  std::atomic<int64_t> total{0};  // what the bar's maximum is (0: unknown, busy indicator)
};

struct ExtractJob {
  std::string corpus, out;
  int64_t limit = 0;                    // snippets (0 = all)
  std::string layers = "all";
  std::string attention_layers = "all";  // "" = none
  int64_t token_budget = 4096;
};

// extract() through the session's shared Engine (no second load of the model). Cancel leaves a
// resumable store. engine_tasks.cpp (the one TU with the Engine).
std::string run_extract(const Session& session, const ExtractJob& job, TaskContext& ctx);

// id_by_layer over every word layer (TwoNN, MLE, PCA) into out_dir/id.csv; returns the csv path in
// `csv_out`. Cancel stops between layers (nothing written).
std::string run_id_sweep(const std::string& store, const std::string& out_dir, int64_t max_points, int ci_reps,
                         TaskContext& ctx, std::string* csv_out = nullptr);

// AST-Probe sweep (every layer, ks) into out_dir (results.csv, probes/). Cancel stops at the next epoch;
// finished fits are kept (rerun resumes).
std::string run_ast_sweep(const std::string& store, const std::string& out_dir, const std::string& ks, int epochs,
                          TaskContext& ctx, std::string* csv_out = nullptr);

}  // namespace ps::gui
