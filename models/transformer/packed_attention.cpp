#include "models/transformer/detail/packed_attention.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <omp.h>

#include <algorithm>
#include <exception>
#include <limits>

#include "models/transformer/masks.h"

namespace ps::models {

PackedAttentionPlan plan_packed_attention(const std::vector<int64_t>& lengths, int64_t heads, const SequenceMask& mask,
                                          at::Device device) {
  PackedAttentionPlan plan;
  for (int64_t n : lengths) {
    plan.offsets.push_back(plan.total);
    plan.lengths.push_back(n);
    plan.total += n;
    // [1, len, len] true = masked out; built once per forward, shared by every layer.
    plan.blocked.push_back(mask(at::zeros({1, n}, at::kLong)).logical_not().to(device));
  }
  // Long sequences split their heads into separate tasks so one 1,000-token sequence cannot leave a core
  // idle; short ones keep all heads in one task so per-op overhead stays small. Costliest first.
  for (size_t s = 0; s < lengths.size(); ++s) {
    const int64_t per_task = lengths[s] >= 256 ? 1 : heads;
    for (int64_t h = 0; h < heads; h += per_task)
      plan.tasks.push_back({static_cast<int>(s), h, std::min(heads, h + per_task)});
  }
  auto cost = [&](const PackedAttentionPlan::Task& t) { return lengths[t.seq] * lengths[t.seq] * (t.h1 - t.h0); };
  std::stable_sort(plan.tasks.begin(), plan.tasks.end(), [&](const auto& a, const auto& b) { return cost(a) > cost(b); });
  return plan;
}

at::Tensor packed_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const PackedAttentionPlan& plan, double scale, std::vector<at::Tensor>* patterns) {
  const int64_t T = q.size(0), H = q.size(1), Hkv = k.size(1), hd = q.size(2), group = H / Hkv;
  auto out = at::empty({T, H * hd}, q.options());
  if (patterns) {
    patterns->clear();
    for (int64_t n : plan.lengths) patterns->push_back(at::empty({H, n, n}, q.options()));
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
      at::Tensor ks, vs;
      if (group == 1) {
        ks = rows(k, h0, h1), vs = rows(v, h0, h1);
      } else {  // GQA: query head h reads kv head h / group, as HF's repeat_kv
        const auto kv = at::arange(h0, h1, at::kLong).div_(group, "floor").to(q.device());
        ks = rows(k, 0, Hkv).index_select(0, kv), vs = rows(v, 0, Hkv).index_select(0, kv);
      }
      // Scores in the compute dtype (as HF's eager attention), softmax in fp32, lowest finite value not -inf.
      auto scores = at::matmul(qs, ks.transpose(-1, -2)).to(at::kFloat).mul_(scale);
      scores.masked_fill_(plan.blocked[task.seq], std::numeric_limits<float>::lowest());
      const auto probs = at::softmax(scores, -1).to(q.scalar_type());
      if (patterns) (*patterns)[task.seq].slice(0, h0, h1).copy_(probs);
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
