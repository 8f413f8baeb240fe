// Seconds per AST-Probe training epoch on synthetic data (default: 20k snippets × ~30 words × 768-d,
// k = 128, batch 32). Usage: probe_bench [n_snippets] [dim] [threads] [epochs] [rank]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "probes/ast_probe.h"

using namespace ps::probes;

namespace {
ProbeDataset synthetic(int n, int dim, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  ProbeDataset ds;
  ds.dim = dim;
  ds.n_c_labels = 200;  // CodeSearchNet Python vocabularies are of this order
  ds.n_u_labels = 60;
  ds.samples.resize(n);
  for (auto& s : ds.samples) {
    s.n_words = 20 + static_cast<int>(rng() % 21);  // 20..40, mean 30
    s.vectors.resize(static_cast<size_t>(s.n_words) * dim);
    for (auto& v : s.vectors) v = g(rng);
    for (int i = 0; i + 1 < s.n_words; ++i) {
      s.d.push_back(1 + static_cast<int32_t>(rng() % 8));
      s.c.push_back(static_cast<int32_t>(rng() % ds.n_c_labels));
    }
    for (int i = 0; i < s.n_words; ++i) s.u.push_back(static_cast<int32_t>(rng() % ds.n_u_labels));
  }
  return ds;
}
}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 20000;
  const int dim = argc > 2 ? std::atoi(argv[2]) : 768;
  const int threads = argc > 3 ? std::atoi(argv[3]) : 2;
  const int epochs = argc > 4 ? std::atoi(argv[4]) : 2;
  const int rank = argc > 5 ? std::atoi(argv[5]) : 128;
  const auto t0 = std::chrono::steady_clock::now();
  const ProbeDataset train = synthetic(n, dim, 1), valid = synthetic(std::max(1, n / 10), dim, 2);
  std::printf("data: %d train + %zu valid snippets, %lld train words, dim %d (%.1f s to generate)\n", n,
              valid.samples.size(), static_cast<long long>(total_words(train)), dim,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  AstProbeConfig cfg;
  cfg.rank = rank;
  cfg.threads = threads;
  cfg.max_epochs = epochs;
  cfg.early_stop_patience = epochs + 1;
  cfg.on_epoch = [](const EpochLog& e) {
    std::printf("epoch %d: %.2f s (train loss %.4f, valid loss %.4f, lr %g)\n", e.epoch, e.seconds, e.train_loss,
                e.valid_loss, e.lr);
    std::fflush(stdout);
  };
  train_ast_probe(train, valid, cfg);
  return 0;
}
