#pragma once
// LM-Infinite attention for one sequence, banded: queries in blocks of L attend [previous block ‖ own block]
// under a band mask, plus the first G keys as extra columns. Scores, masks and softmax are [.., n, G + 2L],
// so memory and time are O(n·(G + L)) per sequence; no n×n tensor exists unless a pattern is asked for
// (and then only for the rows asked). Spec: shared/specs/interventions.md §1.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "models/transformer/masks.h"

namespace ps::models {

// A sequence of n <= L tokens sees every earlier key through the local band, so LM-Infinite is plain causal
// attention there (run on the dense path, bit for bit the vanilla model); longer ones take the banded kernel.
inline bool lambda_banded(int64_t n, const LmInfinite& lm) { return n > lm.local; }

// [1, nb, L, G' + 2L] bool, true = masked out, G' = min(G, n), nb = ceil(n / L). Columns: the G' global keys,
// then the 2L keys of the previous and the own query block. Shared by every layer of a forward.
at::Tensor lambda_blocked(int64_t n, const LmInfinite& lm);

// The four operands of lambda_attention for a concatenated batch, from q [T,H,hd], k [T,Hkv,hd] before RoPE
// and the model's cos/sin [T,hd] for these tokens (positions 0..len-1 per sequence; undefined: no RoPE).
// qr, kr: ordinary RoPE. With a cap, qg is token i's query rotated by the cos/sin row of its sequence's
// token min(limit, i) (the same tables the model uses, so any per-sequence scaling carries over) and kg the
// unrotated keys: <R_min(limit,i) q_i, k_j> = <R_i q_i, R_(i-min(limit,i)) k_j>. Without a cap or without
// RoPE, qg = qr and kg = kr (the Λ shape alone).
struct LambdaOperands {
  at::Tensor qr, kr, qg, kg;
};
LambdaOperands lambda_operands(const at::Tensor& q, const at::Tensor& k, const at::Tensor& cos, const at::Tensor& sin,
                               const std::vector<int64_t>& lengths, const LmInfinite& lm);

// One sequence, heads first: qr, kr, qg, kg, v [h, n, hd]; blocked from lambda_blocked(n, ...). Scores in the
// compute dtype, softmax in fp32 over the union of both branches (no key counted twice). Returns the context
// [h, n, hd]; pattern (optional) receives query rows [row0, row1) as dense [h, row1 - row0, n] probabilities.
at::Tensor lambda_attention(const at::Tensor& qr, const at::Tensor& kr, const at::Tensor& qg, const at::Tensor& kg,
                            const at::Tensor& v, const at::Tensor& blocked, int64_t local, double scale,
                            at::Tensor* pattern = nullptr, int64_t row0 = 0, int64_t row1 = 0);

}  // namespace ps::models
