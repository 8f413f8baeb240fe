#pragma once
// The packing benchmark behind `bench forward` and `bench extract`: the same sequences through one Engine
// as padded, length-sorted and prepacked batches at one token budget, with a FLOP model of what each wastes.
#include <cstdint>
#include <vector>

#include "models/transformer/engine.h"

namespace ps::models {

// Matmul FLOPs per layer: dense 24·d² per slot (QKV 6d², output 2d², MLP 16d²) plus attention 4·d per
// (query, key) pair the kernel computes. Useful = what each sequence alone needs.
struct PackingFlops {
  double computed = 0, useful = 0;
  double wasted_fraction() const { return computed > 0 ? 1.0 - useful / computed : 0.0; }
};
PackingFlops packing_flops(const std::vector<PlannedBatch>& plan, const std::vector<int64_t>& lengths, int64_t d_model);

struct PackingRun {
  Packing packing = Packing::Prepacked;
  RunStats best;  // the fastest of the repeats
  PackingFlops flops;
  double tokens_per_second() const { return best.seconds > 0 ? double(best.real_tokens) / best.seconds : 0.0; }
};

// padded, sorted, prepacked (in that order), each after a one-sequence warm-up; `base` gives the budget,
// and mask. repeats >= 1.
std::vector<PackingRun> bench_packing(const Engine& engine, const std::vector<std::vector<int32_t>>& sequences,
                                      const Capture& capture, const RunOptions& base, int repeats = 1);

}  // namespace ps::models
