// probescope attention stats: per-layer/per-head attention distance, entropy and AST-edge mass (vs a
// position-matched baseline) over the attention patterns stored by `extract --attention-layers`.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "analysis/attention/attention_stats.h"
#include "app/cli/commands.h"
#include "analysis/plot/attention.h"
#include "data/store/reader.h"
#include "models/util/files.h"

namespace ps::cli {

namespace {

struct AttentionArgs {
  std::string store, layers = "all", out;
  ps::analysis::AttentionStatsOptions opt;
};

void run_stats(AttentionArgs& a) {
  std::string model;
  {
    const ps::store::StoreReader r(a.store);
    model = r.model_label();
    if (a.layers != "all") a.opt.layers = r.resolve_layers(a.layers, ps::plot::attention_layers(r));
  }
  Progress progress("attention", 0, "layers");
  const auto rows = ps::analysis::attention_stats(a.store, a.opt, &progress);
  progress.finish();
  const auto csv = ps::analysis::attention_stats_csv(rows, model);
  if (a.out.empty()) {
    std::fputs(csv.c_str(), stdout);
    return;
  }
  std::filesystem::create_directories(a.out);
  ps::write_file_atomic(a.out + "/attention_stats.csv", csv);
  std::printf("%s/attention_stats.csv: %zu rows\n", a.out.c_str(), rows.size());
}

}  // namespace

void add_attention_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("attention", "Attention statistics over a store's stored patterns");
  cmd->require_subcommand(1);
  auto a = std::make_shared<AttentionArgs>();
  auto* stats = cmd->add_subcommand(
      "stats", "Per layer and head: mean attention distance, entropy, and the attention mass on AST neighbours "
               "(tree distance <= --max-tree-distance) against a position-matched baseline");
  stats->add_option("--store", a->store, "store extracted with --attention-layers and syntax")->required();
  stats->add_option("--layers", a->layers, "attention layers (L = block L-1): all or a list")->capture_default_str();
  stats->add_option("--max-tree-distance", a->opt.max_tree_distance, "2 = siblings under one AST node")
      ->capture_default_str();
  stats->add_option("--max-snippets", a->opt.max_snippets, "0 = all")->capture_default_str();
  stats->add_option("--out", a->out, "directory for attention_stats.csv (default: stdout)");
  stats->callback(guarded("attention stats", [a] { run_stats(*a); }));
}

static const CommandRegistration registration{60, add_attention_command};

}  // namespace ps::cli
