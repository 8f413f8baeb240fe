#pragma once
// Fastfood random projection (Le et al. 2013) as used for the intrinsic dimension of fine-tuning
// (Aghajanyan et al., arXiv 2012.13255; spec: /work/shared/specs/methods.md). One frozen projection per
// parameter tensor t with D_t elements, all reading the same θ_d ∈ R^d:
//   L_t = 2^⌈log2 max(D_t, d)⌉, x = θ_d zero-padded to L_t,
//   y   = H (G ⊙ Π(H (B ⊙ x))),  H the unnormalised Walsh–Hadamard transform,
//   Δθ_t = y[:D_t] / sqrt(D_t · ΣG²)      so that E‖Δθ_t‖² ≈ ‖θ_d‖² for every tensor.
// The spec's L_t = 2^⌈log2 D_t⌉ cannot zero-pad θ_d when d > D_t (a bias with 32 entries and d = 1000);
// taking max(D_t, d) keeps every coordinate of θ_d in every tensor and is identical whenever d <= D_t.
// B ∈ {±1}, Π a permutation and G ~ N(0,1) are drawn per tensor from (seed, tensor index); only B[:d] is
// stored because the padded entries of x are zero.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ps::said {

struct FastfoodTensor {
  std::string name;
  std::vector<int64_t> shape;
  int64_t D = 0;     // elements of the tensor
  int64_t L = 0;     // padded length (power of two)
  at::Tensor signs;  // [d] float ±1: B restricted to where x can be non-zero (L >= d)
  at::Tensor perm;   // [L] int32: Π(v)[k] = v[perm[k]]
  at::Tensor gauss;  // [L] float G
  double scale = 0;  // 1 / sqrt(D · ΣG²)
};

class Fastfood {
 public:
  using Shapes = std::vector<std::pair<std::string, std::vector<int64_t>>>;
  // Deterministic in seed; tensor i draws from a generator seeded with mix(seed, i).
  Fastfood(const Shapes& shapes, int64_t d, uint64_t seed);

  int64_t d() const { return d_; }
  int64_t total() const { return total_; }  // Σ D_t
  size_t size() const { return tensors_.size(); }
  const FastfoodTensor& tensor(size_t i) const { return tensors_.at(i); }

  // Δθ_t = P_t θ_d, shaped like tensor i. theta_d: [d] float (CPU). No autograd.
  at::Tensor project(size_t i, const at::Tensor& theta_d) const;
  // P_t^T g: [d], for the chain rule ∂L/∂θ_d = Σ_t λ_t P_t^T ∂L/∂θ_t. g: any shape with D_t elements.
  at::Tensor transpose(size_t i, const at::Tensor& g) const;

 private:
  int64_t d_ = 0, total_ = 0;
  std::vector<FastfoodTensor> tensors_;
};

}  // namespace ps::said
