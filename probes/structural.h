#pragma once
// Structural probes (Hewitt & Manning 2019; spec ast-probe.md §6): a distance probe ‖B(h_i − h_j)‖²
// fitted to gold tree distances (L1 / |s|²) and a depth probe ‖B h_i‖² fitted to depths (L1 / |s|).
// Plain C++ interface; LibTorch stays inside structural.cpp.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "probes/fit_loop.h"
#include "probes/normalize.h"

namespace ps::probes {

struct StructuralSample {
  int n_words = 0;
  std::vector<float> vectors;    // n × dim, row-major
  std::vector<float> distances;  // n × n gold tree distances (symmetric, zero diagonal); distance probe
  std::vector<float> depths;     // n gold depths; depth probe
};

struct StructuralDataset {
  int dim = 0;
  std::vector<StructuralSample> samples;
};

enum class StructuralKind { Distance, Depth };

struct StructuralConfig {
  int rank = 0;                 // rows of B; 0 means rank = dim (Hewitt & Manning's full rank)
  double lr = 1e-3;
  int max_epochs = 30;
  int steps_per_epoch = 625;    // minibatch steps per epoch (fit_loop.h BatchStream); 0 = one pass
  int early_stop_patience = 5;  // epochs without a validation improvement larger than min_delta
  double min_delta = 1e-4;
  double lr_factor = 0.1;       // ReduceLROnPlateau(0.1, 0) on the validation loss
  int lr_patience = 0;
  int batch_size = 20;
  double init_range = 0.05;
  uint64_t seed = 0;
  int threads = 0;              // >0: at::set_num_threads
  std::function<void(const EpochLog&)> on_epoch;
};

struct StructuralProbe {
  StructuralKind kind = StructuralKind::Distance;
  int dim = 0, rank = 0;
  std::vector<float> B;  // rank × dim, row-major
};

struct StructuralFit {
  StructuralProbe probe;  // best checkpoint
  std::vector<EpochLog> history;
  int best_epoch = 0;
  double best_valid_loss = 0;
  std::vector<LossTerm> best_terms;  // the L1 loss beside a constant predictor's (structural_prior)
  bool converged = true;             // false when the best epoch is max_epochs
};

// Throws InputError("<name>: sample i: problem") on size mismatches or non-finite values; only the
// gold field the kind needs is checked.
void validate(const StructuralDataset& ds, StructuralKind kind, const std::string& name);

StructuralFit train_structural_probe(StructuralKind kind, const StructuralDataset& train,
                                     const StructuralDataset& valid, const StructuralConfig& cfg);

// The same loss for a predictor that ignores the vectors: the train targets' median (off-diagonal
// distances, or depths) everywhere, 0 on the diagonal; the prior beside the validation loss.
double structural_prior(StructuralKind kind, const StructuralDataset& train, const StructuralDataset& ds);

// Loss of a probe on a dataset, averaged per sentence (the quantity training minimises).
double structural_loss(const StructuralProbe& p, const StructuralDataset& ds, int batch_size = 20);

// Distance probe: one n×n row-major matrix per sample; depth probe: one n-vector per sample.
std::vector<std::vector<double>> predict_structural(const StructuralProbe& p, const StructuralDataset& ds,
                                                    int batch_size = 20);

// A fitted probe with its layer and free-form metadata. safetensors: tensor "B" (rank × dim, F32);
// __metadata__ "ps.format" = "structural-probe/1", "ps.kind" (distance|depth), "ps.layer", "ps.rank",
// user keys as given (keys starting with "ps." are reserved). Written atomically.
struct SavedStructuralProbe {
  StructuralProbe probe;
  int layer = 0;
  std::map<std::string, std::string> metadata;
  Normalization norm;  // "ps.normalize", "norm_scale", "norm_shift" as for the AST-Probe
};
void save_structural_probe(const std::string& path, const SavedStructuralProbe& p);
SavedStructuralProbe load_structural_probe(const std::string& path);  // InputError("path: problem")

// ---- metrics (structural_metrics.cpp), pure functions ----

// Spearman rank correlation with average ranks for ties; NaN if either side is constant.
double spearman(const std::vector<double>& a, const std::vector<double>& b);

// Prim's minimum spanning tree over an n×n distance matrix; ties go to the lowest index. Edges (i<j).
std::vector<std::pair<int, int>> minimum_spanning_tree(const std::vector<double>& dist, int n);

struct DistanceMetrics {
  double uuas = 0;      // correct predicted MST edges / gold edges, over the corpus
  double spearman = 0;  // mean over lengths [min_len, max_len] of the mean per-sentence row Spearman
  int64_t n_edges = 0;
  int n_lengths = 0;    // how many distinct lengths entered the Spearman average
};

// UUAS against the gold tree: code-AST tokens are leaves, so the gold edges are not given; they are
// the MST of the gold distance matrix. Leaf distances tie often (siblings are all at distance 2), so
// a predicted MST edge (i, j) counts as correct when it belongs to SOME minimum spanning tree of the
// gold matrix (its gold distance equals the gold bottleneck distance between i and j). For word-level
// trees whose tokens are all the nodes, the gold MST is unique and this is the usual UUAS.
DistanceMetrics evaluate_distances(const std::vector<std::vector<double>>& pred, const StructuralDataset& gold,
                                   int min_len = 5, int max_len = 50);

struct DepthMetrics {
  double root_accuracy = 0;  // predicted shallowest token has the gold minimum depth (ties allowed)
  double spearman = 0;       // mean over lengths [min_len, max_len] of per-sentence depth Spearman
  int n_lengths = 0;
};

DepthMetrics evaluate_depths(const std::vector<std::vector<double>>& pred, const StructuralDataset& gold,
                             int min_len = 5, int max_len = 50);

}  // namespace ps::probes
