// AST-Probe training speed straight from an HDF5 store (default: 20k snippets × 20–40 words × 768-d,
// fp16 on disk, k = 128, batch 32): seconds to read the labels once, to stream one layer into the
// splits, and per training epoch with 1 and then `threads` threads in the same run (the ratio is the
// thread speed-up on this machine).
// Usage: probe_bench [n_snippets] [dim] [threads] [epochs] [rank] [store.h5]
// The store is written once (kept at the path, default /tmp/probe_bench.h5) and reused by later runs.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "data/store/writer.h"
#include "models/util/files.h"
#include "probes/ast_probe.h"
#include "probes/store_data.h"

using namespace ps::probes;
using Clock = std::chrono::steady_clock;

namespace {
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Random words and labels (CodeSearchNet-sized vocabularies: ~200 c labels, ~60 u labels).
void write_store(const std::string& path, int n, int dim) {
  using namespace ps::store;
  std::mt19937_64 rng(1);
  std::normal_distribution<float> g(0.0f, 1.0f);
  ps::store::WriterOptions wo;
  wo.mode = WriterOptions::Mode::overwrite;
  StoreWriter w(path, {{"model_label", "bench"}, {"language", "python"}}, wo);
  for (int first = 0; first < n; first += 500) {
    SnippetBatch b;
    b.with_syntax = true;
    ActBlock& act = b.acts[act_name(Rows::words, 0)] = ActBlock{Rows::words, DType::f16, Block(DType::f32, dim)};
    std::vector<float> row(dim);
    for (int s = first; s < std::min(n, first + 500); ++s) {
      Snippet sn;
      sn.id = "bench-" + std::to_string(s);
      const int words = 20 + static_cast<int>(rng() % 21);
      for (int i = 0; i < words; ++i) {
        sn.input_ids.push_back(static_cast<int32_t>(rng() % 5000));
        sn.char_spans.push_back({5 * i, 5 * i + 4});
        sn.word_spans.push_back({5 * i, 5 * i + 4});
        sn.word_subwords.push_back({i, i + 1});
        sn.syn_u.push_back("u" + std::to_string(rng() % 60));
        if (i + 1 < words) sn.syn_d.push_back(1 + static_cast<int32_t>(rng() % 8)), sn.syn_c.push_back("c" + std::to_string(rng() % 200));
        for (auto& v : row) v = g(rng);
        act.data.append(row.data(), 1);
      }
      b.snippets.push_back(std::move(sn));
    }
    w.append(b);
    w.commit();
  }
  w.finish();
}
}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 20000;
  const int dim = argc > 2 ? std::atoi(argv[2]) : 768;
  const int threads = argc > 3 ? std::atoi(argv[3]) : 2;
  const int epochs = argc > 4 ? std::atoi(argv[4]) : 2;
  const int rank = argc > 5 ? std::atoi(argv[5]) : 128;
  const std::string path = argc > 6 ? argv[6] : "/tmp/probe_bench.h5";
  auto t0 = Clock::now();
  if (!ps::file_exists(path)) {
    write_store(path, n, dim);
    std::printf("wrote %s (%d snippets, dim %d, fp16) in %.1f s\n", path.c_str(), n, dim, since(t0));
  }
  const ps::store::StoreReader reader(path);
  t0 = Clock::now();
  const StoreLabels labels = read_store_labels(reader, SplitOptions{}, LabelOptions{});
  std::printf("labels, splits, word types: %.2f s (%zu / %zu / %zu snippets)\n", since(t0), labels.snippets[0].size(),
              labels.snippets[1].size(), labels.snippets[2].size());
  t0 = Clock::now();
  LayerSplits layer = read_layer(reader, labels, 0);
  const ProbeDataset train = take_probe_dataset(layer, labels, Split::train);
  const ProbeDataset valid = take_probe_dataset(layer, labels, Split::valid);
  std::printf("one layer into train/valid: %.2f s (%lld train words x %d)\n", since(t0),
              static_cast<long long>(total_words(train)), dim);
  double per_epoch[2] = {0, 0};
  const int thread_counts[2] = {1, threads};
  for (int run = 0; run < (threads == 1 ? 1 : 2); ++run) {
    AstProbeConfig cfg;
    cfg.rank = rank;
    cfg.threads = thread_counts[run];
    cfg.max_epochs = epochs;
    cfg.early_stop_patience = epochs + 1;
    cfg.on_epoch = [&, run](const EpochLog& e) {
      std::printf("threads %d, epoch %d: %.2f s (train loss %.4f, valid loss %.4f)\n", thread_counts[run], e.epoch,
                  e.seconds, e.train_loss, e.valid_loss);
      std::fflush(stdout);
      per_epoch[run] += e.seconds / epochs;
    };
    train_ast_probe(train, valid, cfg);
  }
  if (threads != 1)
    std::printf("seconds per epoch: %.2f with 1 thread, %.2f with %d threads (speed-up %.2fx)\n", per_epoch[0],
                per_epoch[1], threads, per_epoch[0] / per_epoch[1]);
  return 0;
}
