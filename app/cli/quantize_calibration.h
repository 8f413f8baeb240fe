#pragma once
// intervene's --quantize flags, and the FlexRound calibration set: the app reads and tokenises the corpus
// (models/ never depends on data/) and hands token-id sequences to the models-level intervention.
#include <CLI/CLI.hpp>

#include <string>

#include "models/intervene/intervene.h"
#include "models/util/progress.h"

namespace ps::cli {

struct QuantizeFlags {
  std::string spec, calib_corpus, calib_split = "train";
  int64_t stop_after_blocks = 0;
  int threads = 0;
  void add_to(CLI::App& cmd);
  // Parses --quantize into o.quantize and, for FlexRound, draws the calibration sequences. InputError naming
  // the option: a bad spec, --calib-corpus missing or given to rtn, an empty or too short calibration set.
  void apply(const std::string& model_dir, ps::models::InterveneOptions& o, Progress* progress) const;
};

}  // namespace ps::cli
