// probescope bench forward MODEL_DIR: forward throughput with padded, length-sorted padded and prepacked
// batches at the same token budget, on a synthetic length distribution; prints ratios against padding.
#include <ATen/ATen.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "app/cli/commands.h"
#include "models/transformer/presets.h"
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
  std::shared_ptr<const ps::models::Transformer> model;
  if (!a.arch_preset.empty())
    model = ps::models::random_model_preset(a.arch_preset, ps::models::dtype_from_name(a.flags.dtype), a.seed,
                                             at::Device(a.flags.device));
  else if (!a.model_dir.empty())
    model = ps::models::Transformer::load(a.model_dir, ps::models::dtype_from_name(a.flags.dtype), at::Device(a.flags.device));
  else
    throw ps::InputError("bench forward: give MODEL_DIR or --preset");
  const auto& arch = model->arch();
  auto seqs = synthetic_sequences(a, arch.vocab_size);
  int64_t total = 0, longest = 0;
  for (const auto& s : seqs) total += s.size(), longest = std::max<int64_t>(longest, s.size());
  std::printf("model: %s  layers=%lld d_model=%lld  dtype=%s threads=%d\n", arch.model_type.c_str(), (long long)arch.n_layers,
              (long long)arch.d_model, a.flags.dtype.c_str(), a.flags.threads > 0 ? a.flags.threads : ps::models::hardware_threads());
  std::printf("workload: %d sequences, %lld tokens, lengths %lld..%lld (median target %.0f), token budget %lld\n",
              a.sequences, static_cast<long long>(total), static_cast<long long>(a.min_len),
              static_cast<long long>(longest), a.median_len, static_cast<long long>(a.flags.token_budget));

  ps::models::Capture capture;
  capture.hooks.insert(model->hidden_state_hook(static_cast<int>(arch.n_layers)));
  double padded_rate = 0;
  std::printf("%-10s %12s %10s %12s %10s %9s\n", "packing", "tokens/s", "seconds", "pad-fraction", "forwards",
              "vs-padded");
  for (const char* mode : {"padded", "sorted", "prepacked"}) {
    auto flags = a.flags;
    flags.packing = mode;
    ps::models::Engine engine(model, flags.options());
    engine.run({seqs.front()}, capture);  // warm-up: allocator and thread pool
    ps::models::RunStats best;
    for (int r = 0; r < a.repeats; ++r) {
      ps::models::RunStats st;
      engine.run(seqs, capture, &st);
      if (r == 0 || st.seconds < best.seconds) best = st;
    }
    const double rate = best.real_tokens / best.seconds;
    if (std::string(mode) == "padded") padded_rate = rate;
    std::printf("%-10s %12.0f %10.2f %12.3f %10lld %8.2fx\n", mode, rate, best.seconds, best.padding_fraction(),
                static_cast<long long>(best.forwards), rate / padded_rate);
  }
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
