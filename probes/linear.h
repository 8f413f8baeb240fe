#pragma once
// Linear probe: softmax regression from per-word vectors to a token-level label (e.g. AST node type),
// optional L2 penalty, and the Hewitt & Liang (2019) control task / selectivity helper.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "probes/fit_loop.h"
#include "probes/normalize.h"

namespace ps::probes {

struct TokenDataset {
  int dim = 0;
  int n_labels = 0;
  std::vector<float> vectors;       // N × dim, row-major
  std::vector<int32_t> labels;      // N label ids in [0, n_labels)
  std::vector<int32_t> word_types;  // N word-type ids (optional; needed for control tasks)
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
};

struct LinearConfig {
  double lr = 1e-3;
  double l2 = 0;                // weight of 0.5·‖W‖²_F added to the loss (bias not penalised)
  int max_epochs = 20;
  int steps_per_epoch = 625;    // minibatch steps per epoch (fit_loop.h BatchStream); 0 = one pass
  int early_stop_patience = 3;
  double lr_factor = 0.1;       // ReduceLROnPlateau on the validation loss
  int lr_patience = 0;
  int batch_size = 256;
  double init_range = 0.05;
  uint64_t seed = 0;
  int threads = 0;
  std::function<void(const EpochLog&)> on_epoch;
};

struct LinearProbe {
  int dim = 0, n_labels = 0;
  std::vector<float> W;  // dim × n_labels, row-major
  std::vector<float> b;  // n_labels
};

struct LinearFit {
  LinearProbe probe;  // best checkpoint by validation cross-entropy
  std::vector<EpochLog> history;
  int best_epoch = 0;
  double best_valid_loss = 0;
  std::vector<LossTerm> best_terms;  // the cross-entropy beside the train labels' entropy
  bool converged = true;             // false when the best epoch is max_epochs
};

void validate(const TokenDataset& ds, const std::string& name);  // throws InputError
LinearFit train_linear_probe(const TokenDataset& train, const TokenDataset& valid, const LinearConfig& cfg);
std::vector<int32_t> predict_linear(const LinearProbe& p, const TokenDataset& ds);
double accuracy(const std::vector<int32_t>& pred, const std::vector<int32_t>& gold);

// A fitted probe with its label names, layer and metadata. safetensors: "W" (dim × n_labels) and "b"
// (n_labels), F32; __metadata__ "ps.format" = "linear-probe/1", "ps.layer", "ps.labels" (JSON list).
struct SavedLinearProbe {
  LinearProbe probe;
  std::vector<std::string> labels;  // may be empty (ids only)
  int layer = 0;
  std::map<std::string, std::string> metadata;
  Normalization norm;  // "ps.normalize", "norm_scale", "norm_shift" as for the AST-Probe
};
void save_linear_probe(const std::string& path, const SavedLinearProbe& p);
SavedLinearProbe load_linear_probe(const std::string& path);  // InputError("path: problem")

// Control task: every word type gets one fixed label drawn from the empirical label distribution of
// `reference_labels` (normally the train split). The draw depends only on (seed, type), so the same
// type gets the same control label in every split.
class ControlTask {
 public:
  ControlTask(const std::vector<int32_t>& reference_labels, int n_labels, uint64_t seed);
  int32_t label(int32_t word_type) const;
  std::vector<int32_t> relabel(const std::vector<int32_t>& word_types) const;

 private:
  std::vector<double> cdf_;
  uint64_t seed_;
};

struct Selectivity {
  double task_accuracy = 0, control_accuracy = 0;
  double selectivity() const { return task_accuracy - control_accuracy; }
};

// Trains the task probe and the control probe (same config) and reports test accuracies. All three
// splits need word_types.
Selectivity linear_selectivity(const TokenDataset& train, const TokenDataset& valid, const TokenDataset& test,
                               const LinearConfig& cfg, uint64_t control_seed);

}  // namespace ps::probes
