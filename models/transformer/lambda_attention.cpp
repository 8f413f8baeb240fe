#include "models/transformer/detail/lambda_attention.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>

#include "models/transformer/detail/rotary.h"
#include "models/util/error.h"

namespace ps::models {

at::Tensor lambda_blocked(int64_t n, const LmInfinite& lm) {
  if (lm.n_global < 0 || lm.local < 1) throw InputError("lm-infinite: need n_global >= 0 and L_local >= 1");
  const int64_t L = lm.local, G = std::min(lm.n_global, n), nb = (n + L - 1) / L;
  const auto opt = at::TensorOptions().dtype(at::kLong);
  const auto i = (at::arange(nb, opt) * L).view({nb, 1, 1}) + at::arange(L, opt).view({1, L, 1});  // query
  const auto real = i < n;                                                                           // not padding
  const auto jl = (at::arange(nb, opt) - 1).mul_(L).view({nb, 1, 1}) + at::arange(2 * L, opt).view({1, 1, 2 * L});
  const auto d = i - jl;  // local band: distance 0..L-1, a real key
  const auto band = (d >= 0).logical_and_(d < L).logical_and_(jl >= 0).logical_and_(jl < n).logical_and_(real);
  // Global branch: key j < G only where the band does not already hold it (i - j >= L).
  const auto global = (i - at::arange(G, opt).view({1, 1, G}) >= L).logical_and_(real);
  return at::cat({global, band}, -1).logical_not_().unsqueeze(0);
}

LambdaOperands lambda_operands(const at::Tensor& q, const at::Tensor& k, const at::Tensor& cos, const at::Tensor& sin,
                               const std::vector<int64_t>& lengths, const LmInfinite& lm) {
  if (!cos.defined()) return {q, k, q, k};  // learned positions: the Λ shape alone
  LambdaOperands o;
  o.qr = apply_rope(q, cos, sin), o.kr = apply_rope(k, cos, sin);
  if (lm.limit <= 0) {
    o.qg = o.qr, o.kg = o.kr;
    return o;
  }
  int64_t total = 0;
  for (int64_t n : lengths) total += n;
  auto rows = at::empty({total}, at::kLong), starts = at::empty({total}, at::kLong);
  auto r = rows.accessor<int64_t, 1>(), s0 = starts.accessor<int64_t, 1>();
  int64_t t = 0;
  for (int64_t n : lengths)
    for (int64_t i = 0, start = t; i < n; ++i) s0[t] = start, r[t++] = start + std::min(lm.limit, i);
  rows = rows.to(cos.device()), starts = starts.to(cos.device());
  o.qg = apply_rope(q, cos.index_select(0, rows), sin.index_select(0, rows));
  // The "unrotated" key is the key at position 0: rotation by 0, which still carries a scaling's attention
  // factor (yarn, longrope multiply cos and sin), so far logits are scaled like every other logit.
  o.kg = apply_rope(k, cos.index_select(0, starts), sin.index_select(0, starts));
  return o;
}

at::Tensor lambda_attention(const at::Tensor& qr, const at::Tensor& kr, const at::Tensor& qg, const at::Tensor& kg,
                            const at::Tensor& v, const at::Tensor& blocked, int64_t local, double scale,
                            at::Tensor* pattern, int64_t row0, int64_t row1) {
  const int64_t h = qr.size(0), n = qr.size(1), hd = qr.size(2), L = local;
  const int64_t nb = (n + L - 1) / L, pad = nb * L - n, G = blocked.size(-1) - 2 * L;
  auto padded = [&](const at::Tensor& x) { return pad ? at::constant_pad_nd(x, {0, 0, 0, pad}) : x; };  // [h, nb·L, hd]
  auto window = [&](const at::Tensor& x) {  // [h, nb, 2L, hd]: the previous block (zeros before block 0) ‖ own
    const auto b = padded(x).reshape({h, nb, L, hd});
    return at::cat({at::cat({at::zeros({h, 1, L, hd}, x.options()), b.slice(1, 0, nb - 1)}, 1), b}, 2);
  };
  const auto vw = window(v);
  const auto band = at::matmul(padded(qr).reshape({h, nb, L, hd}), window(kr).transpose(-1, -2));  // [h,nb,L,2L]
  const auto far = at::matmul(padded(qg), kg.slice(1, 0, G).transpose(-1, -2)).reshape({h, nb, L, G});
  auto scores = at::cat({far, band}, -1).to(at::kFloat).mul_(scale);
  scores.masked_fill_(blocked, std::numeric_limits<float>::lowest());
  const auto probs = at::softmax(scores, -1).to(qr.scalar_type());
  const auto ctx = at::matmul(probs.slice(-1, 0, G).reshape({h, nb * L, G}), v.slice(1, 0, G)) +
                   at::matmul(probs.slice(-1, G), vw).reshape({h, nb * L, hd});
  if (pattern) {
    // Scatter the asked rows back to key positions. Masked entries are exactly 0 and a key is never
    // visible through both branches, so a clamped out-of-range column only ever receives zeros.
    const auto opt = at::TensorOptions().dtype(at::kLong);
    const auto rows = at::arange(row0, row1, opt);
    const auto start = rows.div(L, "floor").sub_(1).mul_(L).unsqueeze(1);
    const auto cols = at::cat({at::arange(G, opt).unsqueeze(0).expand({rows.size(0), G}),
                               start + at::arange(2 * L, opt).unsqueeze(0)}, 1)
                          .clamp_(0, n - 1)
                          .to(qr.device());
    const auto p = probs.reshape({h, nb * L, G + 2 * L}).slice(1, row0, row1);
    *pattern = at::zeros({h, row1 - row0, n}, p.options())
                   .scatter_add_(2, cols.unsqueeze(0).expand({h, -1, -1}).contiguous(), p.contiguous());
  }
  return ctx.slice(1, 0, n);
}

}  // namespace ps::models
