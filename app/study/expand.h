#pragma once
// A study file → its Plan (plan.h): the DAG of content-addressed tasks, with no work done beyond hashing the
// models and corpora it names.
#include <string>

#include "app/study/plan.h"
#include "app/study/schema.h"

namespace ps::study {

// `dir` is the study's output directory, `probescope` the executable every task runs (absolute paths).
Plan expand_study(const Study& study, const std::string& dir, const std::string& probescope);

// For the collect, figures and report tasks: the per-language CSVs collect writes under its output dir.
std::string collected_summary(const std::string& collect_dir, const std::string& language);   // probe_summary.csv
std::string collected_baselines(const std::string& collect_dir, const std::string& language); // baselines.csv

}  // namespace ps::study
