#pragma once
// AST-Probe (Hernández López et al., ASE 2022; spec ast-probe.md §2). Plain C++ interface; LibTorch
// stays inside ast_probe.cpp.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "probes/dataset.h"
#include "probes/fit_loop.h"
#include "probes/normalize.h"
#include "probes/tree_decode.h"

namespace ps::probes {

struct AstProbeConfig {
  int rank = 128;               // k, the dimension of the syntactic subspace
  double lr = 1e-3;             // Adam
  int max_epochs = 20;
  // Minibatch steps per epoch (sampling from reshuffled passes, fit_loop.h BatchStream); 625 is the
  // paper's 20,000 snippets / batch 32. 0 = one pass over the train set.
  int steps_per_epoch = 625;
  int early_stop_patience = 5;  // epochs without a new best validation loss
  double lr_factor = 0.1;       // ReduceLROnPlateau on the validation loss
  int lr_patience = 0;
  int batch_size = 32;
  double ortho_weight = 5.0;    // weight of ‖PᵀP − I‖²_F
  double init_range = 0.05;     // parameters start U(−r, r)
  uint64_t seed = 0;            // initialisation and shuffling
  int threads = 0;              // >0: at::set_num_threads(threads); 0 leaves the current setting
  // The projection h·P (most of a step) in bfloat16 with fp32 accumulation; everything else, the
  // parameters, Adam and the validation loss stay fp32. auto: bf16 only if a quick measured check of
  // that GEMM at the batch's shape finds it clearly faster (native bf16 matmul); off keeps fits exact
  // and reproducible across machines.
  enum class Bf16 { off, on, automatic };
  Bf16 bf16 = Bf16::off;
  std::function<void(const EpochLog&)> on_epoch;  // progress callback (optional)
};

// Fitted parameters, row-major: P is dim × rank, Vc is rank × n_c, Vu is rank × n_u.
struct AstProbeModel {
  int dim = 0, rank = 0, n_c = 0, n_u = 0;
  std::vector<float> P, Vc, Vu;
};

struct AstProbeFit {
  AstProbeModel model;           // the best checkpoint (lowest validation loss)
  std::vector<EpochLog> history;
  int best_epoch = 0;            // 1-based
  double best_valid_loss = 0;    // L_d + L_c + L_u, without the orthogonality term
  std::vector<LossTerm> best_terms;  // d, c, u at the best epoch, each beside its prior (fit_loop.h)
  bool converged = true;         // false when the best epoch is max_epochs (it may still have been improving)
  bool bf16 = false;             // the projection ran in bf16 (AstProbeConfig::bf16)
};

// Loss terms, averaged the way training averages them (per batch, then mean over batches).
struct AstProbeLoss {
  double d = 0, c = 0, u = 0, ortho = 0;
  double total() const { return d + c + u; }  // what early stopping and the scheduler see
};

// Trains on `train`, selects on `valid`. Throws InputError on inconsistent datasets (via validate).
AstProbeFit train_ast_probe(const ProbeDataset& train, const ProbeDataset& valid, const AstProbeConfig& cfg);

// Random initial parameters exactly as training starts from them (for baselines and tests).
AstProbeModel init_ast_probe(int dim, int rank, int n_c, int n_u, uint64_t seed, double init_range = 0.05);

// Validation-style loss of a model on a dataset (no gradient).
AstProbeLoss ast_probe_loss(const AstProbeModel& m, const ProbeDataset& ds, int batch_size = 32);

// d̂ (as doubles), argmax c, argmax u per sample, ready for decode_tree / evaluate_predictions.
// An exact tie for the maximum goes to the <empty> id when given (>= 0), else to the lowest id: two
// words with identical vectors give d̂ = 0 and all-zero c scores, and that split must not take
// whichever label the store happened to intern first.
std::vector<DcuPrediction> predict_ast_probe(const AstProbeModel& m, const ProbeDataset& ds, int batch_size = 64,
                                             int32_t c_empty = -1, int32_t u_empty = -1);
// The same with the vocabulary's <empty> ids.
std::vector<DcuPrediction> predict_ast_probe(const AstProbeModel& m, const ProbeDataset& ds, const DecodeVocab& vocab,
                                             int batch_size = 64);

// A fitted probe with what is needed to show it again: vocabularies, layer, free-form metadata.
struct SavedAstProbe {
  AstProbeModel model;
  DecodeVocab vocab;
  int layer = 0;
  std::map<std::string, std::string> metadata;  // e.g. model path, language, metrics as text
  Normalization norm;  // applied to the layer's vectors before the probe (none for older files)
};

// safetensors file: tensors "P", "V_c", "V_u" (F32); vocabularies, layer, k and metadata in
// __metadata__ (keys "ps.format" = "ast-probe/1", "ps.layer", "ps.rank", "ps.c_vocab", "ps.u_vocab",
// "ps.c_empty", "ps.u_empty", "ps.sep"; user metadata under their own keys). The normalization, when not
// none: "ps.normalize" (mode) and tensors "norm_scale" [1 or dim] and, for standardize, "norm_shift" [dim].
// Written atomically.
void save_ast_probe(const std::string& path, const SavedAstProbe& probe);
// Throws InputError("path: problem") for anything malformed.
SavedAstProbe load_ast_probe(const std::string& path);

}  // namespace ps::probes
