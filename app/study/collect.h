#pragma once
// `study collect` and `study publish`: the study's per-task results joined (collect) and laid out under
// DIR/results (publish).
#include <map>
#include <string>
#include <vector>

#include "app/study/plan.h"

namespace ps::study {

// Joins every probe stage's slices (probes::join_sweep_results: each grid cell exactly once, means and spreads
// over seeds recomputed) into OUT/all/ and OUT/<language>/ (results.json/csv, summary.csv, baselines.csv) and
// OUT/probe_summary.csv (every language). InputError naming a missing or duplicated cell, or a probe task
// that has not finished. Returns the number of fit rows.
// summary_of: probe name (without "probe.") → a summary name; those probes are joined only with each other,
// into OUT/<name>/<language>/summary.csv, and stay out of OUT/all and OUT/<language> (their cells may repeat the
// quick grid's at another budget).
size_t collect(const Plan& plan, const std::string& out, const std::map<std::string, std::string>& summary_of = {});

struct PublishOptions {
  std::string title;
  std::vector<std::string> preamble, shared_figures;  // shared: "NAME=CAPTION"
};
// Copies the collected CSVs, id.csv per language, figures and per-language reports to plan.results_dir and
// writes results_dir/report.md (every language's report under one title); `marker` gets a list of what
// was written. InputError when a task it copies from is not done.
void publish(const Plan& plan, const PublishOptions& options, const std::string& marker);

}  // namespace ps::study
