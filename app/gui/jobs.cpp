#include <filesystem>

#include "analysis/id/layer_sweep.h"
#include "app/gui/jobs.h"
#include "data/store/reader.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "probes/sweep.h"

namespace ps::gui {

namespace fs = std::filesystem;

std::string run_id_sweep(const std::string& store, const std::string& out_dir, int64_t max_points, int ci_reps,
                         TaskContext& ctx, std::string* csv_out) {
  analysis::LayerSweepOptions o;
  o.max_points = max_points;
  o.ci_reps = ci_reps;
  o.threads = 1;  // the window's thread stays free; the machine may be shared
  ctx.total = int64_t(store::StoreReader(store).layers(store::Rows::words).size());
  const auto res = analysis::id_by_layer(store, o, &ctx.progress);
  if (ctx.progress.cancelled()) return "intrinsic dimension cancelled; nothing written";
  const std::string csv = analysis::write_results(out_dir, res, o);  // what `probescope id --out` writes
  if (csv_out) *csv_out = csv;
  return "intrinsic dimension of " + std::to_string(ctx.total.load()) + " layers written to " + csv;
}

std::string run_ast_sweep(const std::string& store, const std::string& out_dir, const std::string& ks, int epochs,
                          TaskContext& ctx, std::string* csv_out) {
  probes::SweepOptions o;
  o.kind = probes::ProbeKind::ast;
  o.stores = {store};
  o.out_dir = out_dir;
  o.ks = probes::parse_int_list(ks, "k");
  o.epochs = epochs;
  o.threads = 1;
  o.progress = &ctx.progress;
  ctx.total = int64_t(store::StoreReader(store).layers(store::Rows::words).size() * o.ks.size());
  try {
    const auto r = probes::run_probe_sweep(o);
    if (csv_out) *csv_out = r.results_csv;
    return std::to_string(r.fits_trained) + " probes fitted (" + std::to_string(r.fits_skipped) +
           " already done): " + r.results_csv;
  } catch (const probes::SweepCancelled&) {
    return "probe sweep cancelled; finished fits kept in " + out_dir;
  }
}

}  // namespace ps::gui
