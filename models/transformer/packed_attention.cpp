#include "models/transformer/detail/packed_attention.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <omp.h>

#include <algorithm>
#include <exception>
#include <limits>

#include "models/transformer/detail/lambda_attention.h"
#include "models/transformer/detail/masked_softmax.h"
#include "models/transformer/masks.h"

namespace ps::models {

std::pair<int64_t, int64_t> PackedAttentionPlan::pattern_range(int seq) const {
  const int64_t n = lengths[size_t(seq)];
  if (pattern_rows <= 0) return {0, n};
  const int64_t a = std::clamp<int64_t>(pattern_first_row, 0, n);
  return {a, std::clamp<int64_t>(pattern_first_row + pattern_rows, a, n)};
}

PackedAttentionPlan plan_packed_attention(const std::vector<int64_t>& lengths, int64_t heads, const SequenceMask& mask,
                                          at::Device device, const std::optional<LmInfinite>& lm_infinite) {
  PackedAttentionPlan plan;
  plan.lm_infinite = lm_infinite;
  for (int64_t n : lengths) {
    plan.offsets.push_back(plan.total);
    plan.lengths.push_back(n);
    plan.total += n;
    // True = masked out; built once per forward, shared by every layer.
    const bool banded = lm_infinite && lambda_banded(n, *lm_infinite);
    plan.banded.push_back(banded);
    if (banded) plan.blocked.push_back(lambda_blocked(n, *lm_infinite).to(device));
    else if (lm_infinite) plan.blocked.push_back(segment_mask(at::zeros({1, n}, at::kLong), true).logical_not().to(device));
    else plan.blocked.push_back(mask(at::zeros({1, n}, at::kLong)).logical_not().to(device));
  }
  // Long sequences split their heads into separate tasks so one 1,000-token sequence cannot leave a core
  // idle; short ones keep all heads in one task so per-op overhead stays small. Costliest first.
  for (size_t s = 0; s < lengths.size(); ++s) {
    const int64_t per_task = lengths[s] >= 256 ? 1 : heads;
    for (int64_t h = 0; h < heads; h += per_task)
      plan.tasks.push_back({static_cast<int>(s), h, std::min(heads, h + per_task)});
  }
  auto cost = [&](const PackedAttentionPlan::Task& t) {  // score entries: len x (len, or G' + 2L when banded)
    return lengths[t.seq] * plan.blocked[t.seq].size(-1) * (t.h1 - t.h0);
  };
  std::stable_sort(plan.tasks.begin(), plan.tasks.end(), [&](const auto& a, const auto& b) { return cost(a) > cost(b); });
  return plan;
}

at::Tensor packed_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const PackedAttentionPlan& plan, double scale, std::vector<at::Tensor>* patterns,
                            const at::Tensor& qg, const at::Tensor& kg) {
  const int64_t T = q.size(0), H = q.size(1), Hkv = k.size(1), hd = q.size(2), group = H / Hkv;
  auto out = at::empty({T, H * hd}, q.options());
  if (patterns) {
    patterns->clear();
    for (size_t s = 0; s < plan.lengths.size(); ++s) {
      const auto [r0, r1] = plan.pattern_range(int(s));
      patterns->push_back(at::empty({H, r1 - r0, plan.lengths[s]}, q.options()));
    }
  }
  // Worker threads do not inherit the caller's InferenceMode (it is thread-local).
  const bool inference = c10::InferenceMode::is_enabled();
  std::exception_ptr failure;
  const int64_t n_tasks = static_cast<int64_t>(plan.tasks.size());
  // One task per (sequence, head range), handed out dynamically. Inside the parallel region ATen and
  // OpenBLAS run each small matmul single-threaded, so no core spins waiting on a tiny GEMM.
  const int threads = q.is_cuda() ? 1 : at::get_num_threads();  // CUDA: kernels queue on one stream anyway
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int64_t i = 0; i < n_tasks; ++i) {
    try {
      c10::InferenceMode guard(inference);
      const auto& task = plan.tasks[i];
      const int64_t off = plan.offsets[task.seq], len = plan.lengths[task.seq], h0 = task.h0, h1 = task.h1;
      auto rows = [&](const at::Tensor& x, int64_t a, int64_t b) {
        return x.slice(0, off, off + len).slice(1, a, b).transpose(0, 1);  // [heads, len, hd]
      };
      const auto qs = rows(q, h0, h1);
      at::Tensor ks, vs, kgs;
      if (group == 1) {
        ks = rows(k, h0, h1), vs = rows(v, h0, h1);
        if (plan.banded[task.seq]) kgs = rows(kg, h0, h1);
      } else {  // GQA: query head h reads kv head h / group, as HF's repeat_kv
        const auto kv = at::arange(h0, h1, at::kLong).div_(group, "floor").to(q.device());
        ks = rows(k, 0, Hkv).index_select(0, kv), vs = rows(v, 0, Hkv).index_select(0, kv);
        if (plan.banded[task.seq]) kgs = rows(kg, 0, Hkv).index_select(0, kv);
      }
      const auto [r0, r1] = plan.pattern_range(task.seq);
      if (plan.banded[task.seq]) {
        at::Tensor pattern;
        const auto ctx = lambda_attention(qs, ks, rows(qg, h0, h1), kgs, vs, plan.blocked[task.seq],
                                          plan.lm_infinite->local, scale, patterns ? &pattern : nullptr, r0, r1);
        if (patterns) (*patterns)[task.seq].slice(0, h0, h1).copy_(pattern);
        out.slice(0, off, off + len).slice(1, h0 * hd, h1 * hd).copy_(ctx.transpose(0, 1).reshape({len, (h1 - h0) * hd}));
        continue;
      }
      // Scores in the compute dtype (as HF's eager attention), softmax in fp32, lowest finite value not -inf.
      auto scores = at::matmul(qs, ks.transpose(-1, -2));
      at::Tensor probs;
      if (masked_softmax_applies(scores, plan.blocked[task.seq])) {
        probs = masked_softmax(scores, plan.blocked[task.seq], scale);
      } else {
        auto s = scores.to(at::kFloat).mul_(scale);
        s.masked_fill_(plan.blocked[task.seq], std::numeric_limits<float>::lowest());
        probs = at::softmax(s, -1).to(q.scalar_type());
      }
      if (patterns) (*patterns)[task.seq].slice(0, h0, h1).copy_(probs.slice(1, r0, r1));
      out.slice(0, off, off + len).slice(1, h0 * hd, h1 * hd).copy_(at::matmul(probs, vs).transpose(0, 1).reshape({len, (h1 - h0) * hd}));
    } catch (...) {
#pragma omp critical
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
  return out;
}

}  // namespace ps::models
