// probescope bench extract: on a real corpus, forward throughput of padded / length-sorted / prepacked batches at
// the same token budget with the FLOPs each wastes, then end-to-end extraction (parse, forward, pool, HDF5) against
// the bare forward pass, to show that store I/O overlaps compute.
#include <ATen/ATen.h>

#include <cstdio>
#include <filesystem>

#include "app/cli/commands.h"
#include "data/corpus/readers.h"
#include "data/extract/extract.h"
#include "data/extract/layers.h"
#include "models/open/open_model.h"
#include "models/transformer/bench_packing.h"
#include "models/util/error.h"

namespace ps::cli {

namespace {

struct BenchExtractArgs {
  std::string model_dir, arch_preset, tokenizer, corpus, tmp_dir = "/tmp";
  std::string layers = "all";
  EngineFlags flags;
  int64_t snippets = 200;
  uint64_t seed = 123;
};

void bench_extract(const BenchExtractArgs& a) {
  namespace ex = ps::extract;
  if (a.arch_preset.empty() == a.model_dir.empty()) throw ps::InputError("bench extract: give MODEL_DIR or --preset");
  if (!a.arch_preset.empty() && a.tokenizer.empty())
    throw ps::InputError("bench extract: --preset needs --tokenizer tokenizer.json");
  auto source = a.arch_preset.empty() ? ps::models::ModelSource::directory(a.model_dir)
                                      : ps::models::ModelSource::named_preset(a.arch_preset, a.seed);
  source.tokenizer = a.tokenizer;
  const auto opts = a.flags.options();
  const auto opened = ps::models::open_model(source, opts, opts);
  const auto& engine = *opened.engine;
  const auto& arch = engine.model().arch();
  const auto& tk = *opened.tokenizer;

  // The workload: the first --snippets snippets that extraction keeps, as it prepares them.
  ex::PrepareOptions po;
  po.max_tokens = arch.max_positions;
  std::vector<std::vector<int32_t>> seqs;
  std::vector<int64_t> lengths;
  {
    ps::corpus::Summary s;
    ps::corpus::Reporter rep(s);
    struct Enough {};
    int64_t record = 0;
    try {
      ps::corpus::read_jsonl(a.corpus, {}, rep, [&](ps::corpus::Snippet&& sn) {
        auto r = ex::prepare(std::move(sn), record++, tk, po);
        if (r.skip != ex::Skip::none) return;
        const auto& ids = r.prepared.alignment.encoding.ids;
        seqs.emplace_back(ids.begin(), ids.end());
        lengths.push_back(int64_t(ids.size()));
        if (int64_t(seqs.size()) >= a.snippets) throw Enough{};
      });
    } catch (const Enough&) {
    }
  }
  if (seqs.empty()) throw ps::InputError(a.corpus + ": no snippet could be prepared");
  int64_t total = 0, longest = 0;
  for (int64_t n : lengths) total += n, longest = std::max(longest, n);
  std::printf("model: %s layers=%lld d_model=%lld dtype=%s threads=%d\n", arch.model_type.c_str(),
              (long long)arch.n_layers, (long long)arch.d_model, opened.engine->options().dtype.c_str(),
              a.flags.threads > 0 ? a.flags.threads : ps::models::hardware_threads());
  std::printf("workload: %zu snippets of %s, %lld tokens, longest %lld, mean %.0f; token budget %lld; layers %s\n",
              seqs.size(), a.corpus.c_str(), (long long)total, (long long)longest, double(total) / seqs.size(),
              (long long)a.flags.token_budget, a.layers.c_str());

  ps::models::Capture capture;
  for (int l : ex::parse_layers(a.layers, int(arch.n_layers))) capture.hooks.insert(engine.model().hidden_state_hook(l));
  std::printf("\n%-10s %10s %9s %9s %12s %9s\n", "packing", "tokens/s", "seconds", "forwards", "wasted-FLOPs",
              "vs-padded");
  const auto runs = ps::models::bench_packing(engine, seqs, capture, opts);
  const double padded_rate = runs.front().tokens_per_second(), prepacked_rate = runs.back().tokens_per_second();
  for (const auto& r : runs)
    std::printf("%-10s %10.0f %9.2f %9lld %11.1f%% %8.2fx\n", ps::models::packing_name(r.packing), r.tokens_per_second(),
                r.best.seconds, (long long)r.best.forwards, 100.0 * r.flops.wasted_fraction(),
                r.tokens_per_second() / padded_rate);

  // End to end through the real pipeline, prepacked, on the same snippets and engine settings.
  ex::ExtractOptions o;
  o.shared_engine = opened.engine;
  o.engine = opts;
  o.engine.packing = ps::models::Packing::Prepacked;
  o.tokenizer = opened.tokenizer_path;
  o.model_label = "bench";
  o.corpus = a.corpus;
  o.layers = a.layers;
  o.limit = a.snippets;
  o.overwrite = true;
  o.out = (std::filesystem::path(a.tmp_dir) / ("ps-bench-extract-" + std::to_string(::getpid()) + ".h5")).string();
  const auto sum = ex::extract(o);
  std::filesystem::remove(o.out);
  const double e2e = double(sum.tokens) / sum.seconds;
  std::printf("\nend-to-end extract (prepacked, %lld snippets, %.1f MB written): %.0f tokens/s = %.2f of the bare "
              "prepacked forward (%.2fx padded forward)\n",
              (long long)sum.total_snippets, sum.file_bytes / 1e6, e2e, e2e / prepacked_rate, e2e / padded_rate);
}

}  // namespace

void add_bench_extract_command(CLI::App& app) {
  auto a = std::make_shared<BenchExtractArgs>();
  auto* cmd = bench_command(app).add_subcommand(
      "extract", "On a real corpus: tokens/s and wasted FLOPs of padded vs sorted vs prepacked batches, then "
                 "end-to-end extraction vs the bare forward pass");
  cmd->add_option("MODEL_DIR", a->model_dir, "Hugging Face model directory");
  cmd->add_option("--preset", a->arch_preset, "random weights of a known shape instead (gpt2-small, codebert, llama-mini)");
  cmd->add_option("--tokenizer", a->tokenizer, "tokenizer.json (required with --preset)");
  cmd->add_option("--corpus", a->corpus, "corpus JSONL")->required();
  cmd->add_option("--snippets", a->snippets, "snippets to run")->capture_default_str();
  cmd->add_option("--layers", a->layers, "layers captured (as extract --layers)")->capture_default_str();
  cmd->add_option("--tmp-dir", a->tmp_dir, "where the end-to-end store is written (then deleted)")->capture_default_str();
  cmd->add_option("--seed", a->seed, "seed of the preset's random weights")->capture_default_str();
  a->flags.add_to(*cmd);
  cmd->callback(guarded("bench extract", [a] { bench_extract(*a); }));
}

static const CommandRegistration registration{91, add_bench_extract_command};

}  // namespace ps::cli
