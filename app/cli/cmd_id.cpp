// probescope id: intrinsic dimension by layer (TwoNN, MLE, PCA) straight from one or more stores.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>

#include "analysis/id/layer_sweep.h"
#include "app/cli/commands.h"
#include "data/store/reader.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "models/util/spec.h"

namespace ps::cli {

namespace {

struct IdArgs {
  std::vector<std::string> stores;
  std::string layers = "all", estimators = "twonn,mle,pca", out, blocks;
  ps::analysis::LayerSweepOptions opt;
};

void run_id(IdArgs& a) {
  namespace an = ps::analysis;
  a.opt.estimators = ps::spec::split_list(a.estimators, "--estimators");
  for (const auto& b : ps::spec::split_list(a.blocks, "--blocks"))
    a.opt.blocks.push_back(static_cast<int>(ps::spec::to_int(b, "--blocks", 1, 1 << 20)));
  std::vector<an::IdStoreJob> jobs;
  for (const auto& path : a.stores) {
    an::IdStoreJob job{path, {}};
    if (a.layers != "all") {
      const ps::store::StoreReader r(path);
      job.layers = r.resolve_layers(a.layers, a.opt.points == "tokens" ? ps::store::Rows::tokens : ps::store::Rows::words);
    }
    jobs.push_back(std::move(job));
  }
  Progress progress("id", 0, "layers");
  an::IdSweepRun run;
  {
    // First Ctrl-C/SIGTERM: finish the layer in flight; finished layers are kept in --out for the rerun.
    CancelOnInterrupt interrupt(progress);
    run = an::run_id_sweep(jobs, a.opt, a.out, &progress);
  }
  progress.finish();
  if (!run.complete)
    throw RuntimeError(a.out.empty() ? std::string("interrupted; nothing written (give --out to make the sweep resumable)")
                                     : "interrupted; rerun the same command to resume " + a.out);
  if (a.out.empty()) {
    std::fputs(an::to_csv(run.result.rows).c_str(), stdout);
    return;
  }
  std::printf("%s: %zu rows (%zu stores", run.csv.c_str(), run.result.rows.size(), a.stores.size());
  if (run.layers_reused > 0) std::printf(", %lld layers reused from the earlier run", (long long)run.layers_reused);
  std::printf(")\n");
}

}  // namespace

void add_id_command(CLI::App& app) {
  auto a = std::make_shared<IdArgs>();
  auto& o = a->opt;
  auto* cmd = app.add_subcommand(
      "id", "Intrinsic dimension of each layer's representations (TwoNN with the 90% fit, Levina-Bickel MLE, "
            "PCA-90% and participation ratio) with bootstrap intervals, from activation stores");
  cmd->add_option("--store", a->stores, "store(s) from `probescope extract` (repeat to compare models)")->required();
  cmd->add_option("--layers", a->layers, "all, or a list such as 0,4,-1")->capture_default_str();
  cmd->add_option("--estimators", a->estimators, "comma list of twonn, mle, pca")->capture_default_str();
  cmd->add_option("--points", o.points, "words (per code token), snippets (mean per snippet) or tokens")->capture_default_str();
  cmd->add_option("--max-points", o.max_points, "seeded subsample size per layer (0 = all)")->capture_default_str();
  cmd->add_option("--ci-reps", o.ci_reps, "bootstrap repetitions for the confidence interval (0 = none)")->capture_default_str();
  cmd->add_option("--confidence", o.confidence)->capture_default_str();
  cmd->add_option("--mle-k1", o.mle_k1)->capture_default_str();
  cmd->add_option("--mle-k2", o.mle_k2)->capture_default_str();
  cmd->add_flag("--mle-unbiased", o.mle_unbiased, "(k-2) instead of (k-1) in the MLE");
  cmd->add_option("--twonn-fraction", o.twonn_fraction, "fit TwoNN on this smallest fraction of ratios")->capture_default_str();
  cmd->add_option("--pca-fraction", o.pca_fraction, "variance fraction for the PCA dimension")->capture_default_str();
  cmd->add_option("--blocks", a->blocks, "block analysis over 1,2,4,8 disjoint subsets (stability check)");
  cmd->add_option("--threads", o.threads, "kNN threads")->capture_default_str();
  cmd->add_option("--seed", o.seed)->capture_default_str();
  cmd->add_option("--normalize", o.normalize,
                  "rescale each layer's points first: none, scale (unit RMS per coordinate; leaves TwoNN, MLE and "
                  "PCA unchanged) or standardize (per-coordinate mean 0, variance 1: a few rogue high-variance "
                  "dimensions no longer set PCA-90)")
      ->capture_default_str();
  cmd->add_option("--out", a->out, "directory for id.csv, id.json (and id_blocks.csv), and id.layers.json with the finished layers: an "
                  "interrupted sweep resumes when rerun; default: CSV on stdout");
  cmd->callback(guarded("id", [a] { run_id(*a); }));
}

static const CommandRegistration registration{50, add_id_command};

}  // namespace ps::cli
