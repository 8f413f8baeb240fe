#pragma once
// Low-rank plus sparse split of pre-trained weights (--decompose), the GreBsmo-style decomposition DSEE
// (Chen et al., ACL 2023; VITA-Group/DSEE run_glue.py, sparse_method='grebsmo') uses to find the support of
// its sparse update. Per selected matrix W [m, n], in float64:
//   U [m,1], V [1,n] random (seeded); for each outer iteration: S = 0, then `inner` times
//     U = Q of QR((W - S) V^T);  V = U^T (W - S);  S = W - UV with |S| < tau set to 0
//   and, while the rank is below r, append the first min(step, r - rank) rows of R from QR(W - UV - S) to V.
// Outer iterations run until both `iters` are done and the rank has reached r.
// DSEE's tau = 0.01 is absolute, tuned to BERT's weights (std ~0.04); here tau = threshold * rms(W)
// (threshold 0.25 by default), so the split means the same on a model of any weight scale.
// Then S keeps the nnz largest |W - UV| entries (ties by position) and `polish` GoDec-style alternations
// (UV refit to W - S, S = the nnz largest |W - UV| again) fit UV to the exact-count S that is written;
// residual = W - UV - S (0 on S's support).
//
// Energies are squared Frobenius norms as shares of ||W||^2: lowrank ||UV||^2, sparse ||S||^2, residual
// ||R||^2 and cross = 2(<UV,S> + <UV,R> + <S,R>) (<S,R> = 0); the four sum to 1 since W = UV + S + R.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "models/config/arch.h"
#include "models/intervene/sparsity_spec.h"
#include "models/safetensors/safetensors.h"

namespace ps::models {

struct LowRankSparse {
  at::Tensor U, V;      // [m, r] orthonormal columns, [r, n] (float64)
  at::Tensor S;         // [m, n], nnz nonzeros (float64)
  at::Tensor residual;  // W - UV - S
  at::Tensor support;   // flat indices of S's entries, ascending (int64)
  double tau = 0;       // the absolute hard threshold used
  int64_t outer = 0;    // outer iterations run
};
// InputError naming `setting` (and `name`) when rank > min(m, n) or nnz > m * n.
LowRankSparse lowrank_sparse(const at::Tensor& W, const DecomposeSpec& spec, uint64_t seed, const std::string& name = "W",
                             const std::string& setting = "--decompose");

struct Energy {
  double total = 0, lowrank = 0, sparse = 0, residual = 0, cross = 0;  // squared norms (not shares)
  Energy& operator+=(const Energy& e);
};
Energy energy_of(const at::Tensor& W, const LowRankSparse& d);

// The three models and the tables a --decompose writes.
struct DecomposeOutput {
  // tensors passed in become UV + S (the main --out); these hold UV and W - UV (= S + residual) for the
  // ablation directories; every other tensor is the source's.
  std::map<std::string, st::TensorData> lowrank, minus_lowrank;
  std::map<std::string, at::Tensor> factors;  // "<name>.U", "<name>.V" (float32), "<name>.S_index" (int64), "<name>.S_value"
  std::string csv;                            // decomposition.csv: per tensor and an "overall" row
  nlohmann::ordered_json step;                // the record step (spec, tau rule, per-tensor energies)
};
// Decomposes the selected matrices in place (tensors → UV + S) and prints the energy table on stderr.
DecomposeOutput decompose_step(const ArchSpec& arch, std::map<std::string, st::TensorData>& tensors,
                               const std::string& source, const DecomposeSpec& spec);

}  // namespace ps::models

namespace ps::models {

inline constexpr const char* kDecompositionCsv = "decomposition.csv";
inline constexpr const char* kDecompositionFactors = "decomposition_factors.safetensors";

// The factors map as a safetensors file (float32 and int64 tensors).
void write_factors(const std::string& path, const std::map<std::string, at::Tensor>& factors);

// An ablation directory beside a finished main output: main_dir's config.json and tokenizer files (every
// regular file but weights, *.safetensors, the records and decomposition.*), plus these tensors and record.
// Written into a hidden temp sibling and renamed over dest.
void write_sibling_model(const std::string& main_dir, const std::string& dest,
                         const std::map<std::string, st::TensorData>& tensors,
                         const std::map<std::string, std::string>& metadata, const std::string& record_file,
                         const std::string& record_json);

}  // namespace ps::models
