#include "models/transformer/bench_packing.h"

#include "models/util/error.h"

namespace ps::models {

PackingFlops packing_flops(const std::vector<PlannedBatch>& plan, const std::vector<int64_t>& lengths, int64_t d) {
  PackingFlops f;
  const double dense = 24.0 * double(d) * double(d), attn = 4.0 * double(d);
  for (const auto& b : plan) {
    if (!b.concatenated) {
      f.computed += double(b.rows.size()) * (double(b.row_len) * dense + double(b.row_len) * double(b.row_len) * attn);
      continue;
    }
    // Dense layers on the real tokens only; each sequence attends over its own tokens only.
    for (int s : b.rows[0].seqs) f.computed += double(lengths[s]) * dense + double(lengths[s]) * double(lengths[s]) * attn;
  }
  for (int64_t n : lengths) f.useful += double(n) * dense + double(n) * double(n) * attn;
  return f;
}

std::vector<PackingRun> bench_packing(const Engine& engine, const std::vector<std::vector<int32_t>>& sequences,
                                      const Capture& capture, const RunOptions& base, int repeats) {
  if (sequences.empty()) throw InputError("bench: no sequences");
  if (repeats < 1) throw InputError("repeats must be >= 1");
  std::vector<int64_t> lengths;
  for (const auto& s : sequences) lengths.push_back(int64_t(s.size()));
  std::vector<PackingRun> out;
  for (Packing p : {Packing::Padded, Packing::SortedPadded, Packing::Prepacked}) {
    RunOptions ro = base;
    ro.packing = p;
    engine.run({sequences.front()}, capture, ro);  // warm-up: allocator and thread pool
    PackingRun run;
    run.packing = p;
    for (int r = 0; r < repeats; ++r) {
      RunStats st;
      engine.run(sequences, capture, ro, &st);
      if (r == 0 || st.seconds < run.best.seconds) run.best = st;
    }
    run.flops = packing_flops(plan_batches(lengths, p, ro.token_budget), lengths,
                              engine.model().arch().d_model);
    out.push_back(run);
  }
  return out;
}

}  // namespace ps::models
