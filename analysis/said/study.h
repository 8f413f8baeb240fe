#pragma once
// A SAID study on disk: sweep() with dir/curve.csv and dir/said.json rewritten (atomically) as each run
// finishes, "complete": false until the search ends, so a stopped search keeps its curve.
// Resume: said.json also holds the study's identity (every sweep setting, a hash of the task data, and `meta`
// but for "threads"); a rerun into the same dir with the same identity takes its finished runs (not the
// cancelled one) instead of running them again. Every run is a function of its settings and seed, and the
// search's choices a function of the runs, so the resumed study equals an uninterrupted one (on CPU with
// the same threads). A said.json of other settings is replaced, as a fresh run always did.
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "analysis/said/search.h"

namespace ps::said {

// `meta` (model, corpora, ...) is merged into said.json and is part of the identity.
SweepResult run_study(const std::shared_ptr<const models::Transformer>& model, const TaskData& data,
                      const SweepOptions& opt, const std::string& dir, const nlohmann::json& meta,
                      const SweepHooks& hooks = {});

// What a rerun must share with the run that wrote said.json (its "resume" field).
nlohmann::json study_identity(const TaskData& data, const SweepOptions& opt, const nlohmann::json& meta);

}  // namespace ps::said
