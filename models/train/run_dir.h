#pragma once
// A training run's output directory:
//   DIR/train_log.csv, DIR/valid_log.csv         logs, rewritten atomically as they grow
//   DIR/step-000500/                              a checkpoint, loadable by every command:
//       config.json, model.safetensors (float32, HF names), tokenizer.json       the model
//       optimizer.safetensors (AdamW exp_avg.* / exp_avg_sq.*), trainer_state.json,
//       train_log.csv, valid_log.csv (the logs up to this step)                 for resuming
// A checkpoint is written into step-XXXXXX.tmp and renamed into place, so a killed run never leaves a
// complete-looking half checkpoint; only directories with trainer_state.json count.
#include <ATen/core/Tensor.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "models/config/arch.h"

namespace ps::train {

struct CheckpointContents {
  std::string config_json, tokenizer_json;
  const models::ArchSpec* arch = nullptr;
  const std::map<std::string, at::Tensor>* params = nullptr;     // canonical
  std::map<std::string, at::Tensor> optimizer;                   // AdamW::state()
  nlohmann::json state;                                          // trainer_state.json
  std::string train_log, valid_log;                              // CSV text
  std::function<void(const std::string& dir)> write_extra;       // more files (the SPDF mask), before trainer_state.json
};

std::string step_dir_name(int64_t step);  // "step-000500"

// Writes DIR/step-XXXXXX atomically (replacing an existing one); returns its path.
std::string save_checkpoint(const std::string& dir, int64_t step, const CheckpointContents& c);

// Steps of the complete checkpoints in dir, ascending.
std::vector<int64_t> list_checkpoints(const std::string& dir);

// Removes checkpoints that are not in keep and not among the newest keep_last; leftover .tmp folders too.
void prune_checkpoints(const std::string& dir, const std::vector<int64_t>& keep, int64_t keep_last);

// CSV logs with a header line; rows are appended in memory and the file rewritten atomically.
class CsvLog {
 public:
  explicit CsvLog(std::string header) : header_(std::move(header)) {}
  void append(const std::string& row) { rows_.push_back(row); }
  // Replaces the rows by those of a saved log (same header); InputError if the header differs.
  void load(const std::string& text, const std::string& source);
  std::string text() const;
  size_t rows() const { return rows_.size(); }

 private:
  std::string header_;
  std::vector<std::string> rows_;
};

}  // namespace ps::train
