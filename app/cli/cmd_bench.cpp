// probescope bench forward MODEL_DIR: forward throughput with padded, length-sorted padded and prepacked
// batches at the same token budget, on a synthetic length distribution; prints ratios against padding.
#include <ATen/ATen.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "app/cli/commands.h"
#include "models/open/open_model.h"
#include "models/transformer/bench_packing.h"
#include "models/util/error.h"

namespace ps::cli {

namespace {

struct BenchForwardArgs {
  std::string model_dir, arch_preset;
  EngineFlags flags;
  int sequences = 256;
  int64_t min_len = 16, max_len = 512;
  double median_len = 120, spread = 0.8;
  int repeats = 1;
  uint64_t seed = 123;
};

// Log-normal lengths clipped to [min,max]: the shape of CodeSearchNet function lengths in subwords.
std::vector<std::vector<int32_t>> synthetic_sequences(const BenchForwardArgs& a, int32_t vocab) {
  std::mt19937_64 rng(a.seed);
  std::lognormal_distribution<double> len_dist(std::log(a.median_len), a.spread);
  std::uniform_int_distribution<int32_t> tok(3, std::max<int32_t>(4, vocab - 1));
  std::vector<std::vector<int32_t>> seqs(a.sequences);
  for (auto& s : seqs) {
    const auto n = static_cast<int64_t>(std::llround(len_dist(rng)));
    s.resize(static_cast<size_t>(std::clamp(n, a.min_len, a.max_len)));
    for (auto& t : s) t = tok(rng);
  }
  return seqs;
}

void bench_forward(const BenchForwardArgs& a) {
  if (a.arch_preset.empty() == a.model_dir.empty()) throw ps::InputError("bench forward: give MODEL_DIR or --preset");
  const auto source = a.arch_preset.empty() ? ps::models::ModelSource::directory(a.model_dir)
                                            : ps::models::ModelSource::named_preset(a.arch_preset, a.seed);
  const auto opts = a.flags.options();
  const auto opened = ps::models::open_model(source, opts, opts);
  const auto& arch = opened.engine->model().arch();
  auto seqs = synthetic_sequences(a, arch.vocab_size);
  int64_t total = 0, longest = 0;
  for (const auto& s : seqs) total += s.size(), longest = std::max<int64_t>(longest, s.size());
  std::printf("model: %s  layers=%lld d_model=%lld  dtype=%s threads=%d\n", arch.model_type.c_str(), (long long)arch.n_layers,
              (long long)arch.d_model, opened.engine->options().dtype.c_str(), a.flags.threads > 0 ? a.flags.threads : ps::models::hardware_threads());
  std::printf("workload: %d sequences, %lld tokens, lengths %lld..%lld (median target %.0f), token budget %lld\n",
              a.sequences, static_cast<long long>(total), static_cast<long long>(a.min_len),
              static_cast<long long>(longest), a.median_len, static_cast<long long>(a.flags.token_budget));

  ps::models::Capture capture;
  capture.hooks.insert(opened.engine->model().hidden_state_hook(static_cast<int>(arch.n_layers)));
  std::printf("%-10s %12s %10s %12s %10s %9s\n", "packing", "tokens/s", "seconds", "pad-fraction", "forwards",
              "vs-padded");
  const auto runs = ps::models::bench_packing(*opened.engine, seqs, capture, opts, a.repeats);
  const double padded_rate = runs.front().tokens_per_second();
  for (const auto& r : runs)
    std::printf("%-10s %12.0f %10.2f %12.3f %10lld %8.2fx\n", ps::models::packing_name(r.packing),
                r.tokens_per_second(), r.best.seconds, r.best.padding_fraction(), static_cast<long long>(r.best.forwards),
                r.tokens_per_second() / padded_rate);
}

}  // namespace

CLI::App& bench_command(CLI::App& app) {
  for (auto* sub : app.get_subcommands([](CLI::App* c) { return c->get_name() == "bench"; })) return *sub;
  auto* bench = app.add_subcommand("bench", "Benchmarks that print ratios against a baseline measured in the same run");
  bench->require_subcommand(1);
  return *bench;
}

void add_bench_forward_command(CLI::App& app) {
  auto* bench = &bench_command(app);
  auto a = std::make_shared<BenchForwardArgs>();
  auto* fwd = bench->add_subcommand("forward", "Forward tokens/s: padded vs length-sorted vs prepacked batches");
  fwd->add_option("MODEL_DIR", a->model_dir, "Hugging Face model directory");
  fwd->add_option("--preset", a->arch_preset, "random weights of a known shape instead (gpt2-small, codebert, llama-mini)");
  a->flags.add_to(*fwd);
  fwd->add_option("--sequences", a->sequences, "number of synthetic sequences")->capture_default_str();
  fwd->add_option("--median-len", a->median_len, "median length (log-normal)")->capture_default_str();
  fwd->add_option("--spread", a->spread, "log-normal sigma; larger = more varied lengths")->capture_default_str();
  fwd->add_option("--min-len", a->min_len)->capture_default_str();
  fwd->add_option("--max-len", a->max_len)->capture_default_str();
  fwd->add_option("--repeats", a->repeats, "runs per mode; the fastest is reported")->capture_default_str();
  fwd->add_option("--seed", a->seed)->capture_default_str();
  fwd->callback(guarded("bench forward", [a] { bench_forward(*a); }));
}

static const CommandRegistration registration{90, add_bench_forward_command};

}  // namespace ps::cli
