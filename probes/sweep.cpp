// The sweep loop: stores → layers (one read each) → k → seeds → real/control. Fits already in
// results.json are skipped, and a store or layer whose fits are all done is not even read.
#include "probes/sweep.h"

#include <limits>
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>
#include <sstream>

#include "data/store/reader.h"
#include "probes/sweep_internal.h"
#include "models/util/spec.h"

namespace ps::probes {

const char* kind_name(ProbeKind k) {
  switch (k) {
    case ProbeKind::ast: return "ast";
    case ProbeKind::distance: return "distance";
    case ProbeKind::depth: return "depth";
    case ProbeKind::linear: return "linear";
  }
  return "?";
}

ProbeKind parse_kind(const std::string& name) {
  for (ProbeKind k : {ProbeKind::ast, ProbeKind::distance, ProbeKind::depth, ProbeKind::linear})
    if (name == kind_name(k)) return k;
  throw InputError("probe: unknown probe '" + name + "' (ast, distance, depth or linear)");
}

std::vector<int> parse_int_list(const std::string& text, const std::string& flag) {
  std::vector<int> out;
  for (const int64_t v : spec::int_list(text, flag, std::numeric_limits<int>::min(), std::numeric_limits<int>::max()))
    out.push_back(static_cast<int>(v));
  return out;
}

namespace {

struct StorePlan {
  std::string path, model, language;
  std::vector<int> layers;
};

// File-name-safe form of a model label or language.
std::string safe(const std::string& s) {
  std::string out;
  for (char ch : s) out += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-') ? ch : '_';
  return out.empty() ? "model" : out;
}

template <class T>
std::vector<T> unique(const std::vector<T>& v) {
  std::vector<T> out;
  for (const T& x : v)
    if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(x);
  return out;
}

}  // namespace

SweepResult run_probe_sweep(const SweepOptions& opt) {
  using namespace sweep;
  const Settings settings = resolve(opt);
  if (opt.stores.empty()) throw InputError("probe: give at least one --store");
  if (opt.seeds.empty()) throw InputError("probe: --seeds is empty");
  if (opt.control && opt.kind == ProbeKind::distance)
    throw InputError("probe distance: --control is not defined for the distance probe (use it with ast, depth, linear)");
  const std::vector<int> ks = opt.kind == ProbeKind::linear ? std::vector<int>{0} : unique(opt.ks);
  if (ks.empty()) throw InputError("probe: --k is empty");
  for (int k : ks)
    if (k < 0 || (k == 0 && opt.kind == ProbeKind::ast))
      throw InputError("probe: --k " + std::to_string(k) + ": must be positive (structural probes: 0 = full rank)");
  const std::vector<uint64_t> seeds = unique(opt.seeds);
  const std::vector<bool> tasks = opt.control ? std::vector<bool>{false, true} : std::vector<bool>{false};

  // Plan first (manifests and layer lists only), so a bad store or layer fails before any training.
  std::vector<StorePlan> plans;
  std::set<std::pair<std::string, std::string>> seen;
  int64_t total = 0;
  for (const std::string& path : opt.stores) {
    const store::StoreReader r(path);
    StorePlan p{path, r.model_label(), r.language(), r.resolve_layers(opt.layers, store::Rows::words)};
    if (!seen.insert({p.model, p.language}).second)
      throw InputError(where(path, "model '" + p.model + "' with language '" + p.language +
                                       "' is already given by another --store (set model_label to tell them apart)"));
    total += static_cast<int64_t>(p.layers.size() * ks.size() * seeds.size() * tasks.size());
    plans.push_back(std::move(p));
  }
  if (opt.task_count < 1 || opt.task_index < 0 || opt.task_index >= opt.task_count)
    throw InputError("probe: --task " + std::to_string(opt.task_index) + "/" + std::to_string(opt.task_count) +
                     ": expected i/N with 0 <= i < N");
  // The slice's cells: fit g of the whole grid (in loop order) is this slice's when g % N == i.
  std::set<std::string> wanted;
  nlohmann::json cells = nlohmann::json::array();
  int64_t g = 0;
  for (const StorePlan& p : plans)
    for (int layer : p.layers)
      for (int k : ks)
        for (uint64_t seed : seeds)
          for (bool control : tasks)
            if (g++ % opt.task_count == opt.task_index) {
              wanted.insert(Results::key(p.model, p.language, layer, k, seed, control));
              cells.push_back({{"model", p.model}, {"language", p.language}, {"layer", layer}, {"k", k},
                               {"seed", seed}, {"task", control ? "control" : "real"}});
            }
  total = static_cast<int64_t>(wanted.size());
  Results results(opt.out_dir, settings_json(opt, settings), opt.kind);
  if (opt.task_count > 1)
    results.set_grid({{"task", std::to_string(opt.task_index) + "/" + std::to_string(opt.task_count)}, {"cells", cells}});
  if (opt.progress) opt.progress->set_total(total);
  auto in_slice = [&](const StorePlan& p, int layer, int k, uint64_t seed, bool control) {
    return wanted.count(Results::key(p.model, p.language, layer, k, seed, control)) > 0;
  };
  auto pending = [&](const StorePlan& p, int layer) {
    int n = 0;
    for (int k : ks)
      for (uint64_t seed : seeds)
        for (bool control : tasks)
          n += in_slice(p, layer, k, seed, control) && !results.has(Results::key(p.model, p.language, layer, k, seed, control));
    return n;
  };
  auto slice_fits = [&](const StorePlan& p, int layer) {
    int n = 0;
    for (int k : ks)
      for (uint64_t seed : seeds)
        for (bool control : tasks) n += in_slice(p, layer, k, seed, control);
    return n;
  };

  LabelOptions lo;
  lo.syntax = opt.kind == ProbeKind::ast || opt.kind == ProbeKind::linear;
  lo.types = opt.control || opt.kind == ProbeKind::linear;
  lo.depths = opt.kind == ProbeKind::depth;
  lo.distances = opt.kind == ProbeKind::distance;
  SweepResult out;
  out.results_json = results.json_path(), out.results_csv = results.csv_path(), out.summary_csv = results.summary_path();
  if (opt.kind == ProbeKind::ast) out.baselines_csv = results.baselines_path();
  int64_t done = 0;
  for (const StorePlan& plan : plans) {
    int store_pending = 0;
    for (int layer : plan.layers) store_pending += pending(plan, layer);
    int64_t store_fits = 0;
    for (int layer : plan.layers) store_fits += slice_fits(plan, layer);
    if (store_pending == 0) {
      out.fits_skipped += static_cast<int>(store_fits);
      done += store_fits;
      if (opt.progress) opt.progress->advance(store_fits);
      continue;
    }
    const store::StoreReader reader(plan.path);
    const StoreLabels labels = read_store_labels(reader, opt.split, lo);
    for (int k = 0; k < 3; ++k)
      if (labels.snippets[k].empty())
        throw InputError(where(plan.path, std::string("the ") + split_name(static_cast<Split>(k)) + " split is empty (" +
                                              std::to_string(labels.n_samples) + " snippets; adjust --split)"));
    if (opt.kind == ProbeKind::ast)  // what F1 means on this store's own gold trees (probes/baselines.h)
      for (const BaselineScore& b : store_label_baselines(labels, seeds)) results.set_baseline(plan.model, plan.language, b);
    for (int layer : plan.layers) {
      const int64_t layer_fits = slice_fits(plan, layer);
      if (pending(plan, layer) == 0) {
        out.fits_skipped += static_cast<int>(layer_fits);
        done += layer_fits;
        if (opt.progress) opt.progress->advance(layer_fits);
        continue;
      }
      if (opt.progress && opt.progress->cancelled()) throw SweepCancelled();
      LayerSplits splits = read_layer(reader, labels, layer);
      LayerData data = make_layer_data(opt.kind, splits, labels, settings.normalize);
      if (opt.kind == ProbeKind::ast) {
        const BaselineScore cap = alignment_cap(data.ast[2], data.identical_test, labels.vocab, layer);
        results.set_baseline(plan.model, plan.language, cap);
        if (opt.log && cap.identical_pairs > 0) {
          char buf[300];
          std::snprintf(buf, sizeof buf,
                        "note: %s layer %d: %lld of %lld adjacent test word pairs have identical vectors (d^ = 0); "
                        "even a perfect probe is capped at F1 %.4f",
                        plan.path.c_str(), layer, static_cast<long long>(cap.identical_pairs),
                        static_cast<long long>(cap.n_pairs), cap.f1_macro.at(0));
          opt.log(buf);
        }
      }
      for (int k : ks)
        for (uint64_t seed : seeds)
          for (bool control : tasks) {
            if (!in_slice(plan, layer, k, seed, control)) continue;
            ++done;
            if (results.has(Results::key(plan.model, plan.language, layer, k, seed, control))) {
              ++out.fits_skipped;
              if (opt.progress) opt.progress->advance(1);
              continue;
            }
            if (opt.progress && opt.progress->cancelled()) throw SweepCancelled();
            const std::string name = safe(plan.model) + (plan.language.empty() ? "" : "-" + safe(plan.language)) + "_L" +
                                     std::to_string(layer) + "_k" + std::to_string(k) + "_s" + std::to_string(seed) +
                                     (control ? "_control" : "") + ".safetensors";
            FitRequest req;
            req.k = k, req.seed = seed, req.control = control;
            req.probe_path = (std::filesystem::path(opt.out_dir) / "probes" / name).string();
            req.metadata = {{"probe", kind_name(opt.kind)}, {"model", plan.model},
                            {"language", plan.language},   {"store", plan.path},
                            {"k", std::to_string(k)},      {"seed", std::to_string(seed)},
                            {"task", control ? "control" : "real"},
                            {"settings", settings_json(opt, settings).dump()}};
            nlohmann::json row = fit_one(data, labels, settings, req, opt);
            row["model"] = plan.model, row["language"] = plan.language, row["store"] = plan.path;
            row["layer"] = layer, row["k"] = k, row["seed"] = seed, row["task"] = control ? "control" : "real";
            row["probe"] = "probes/" + name;
            results.add(row);
            ++out.fits_trained;
            if (opt.progress) opt.progress->advance(1);
            if (opt.log) {
              char buf[400];
              const std::string metric = main_metric(opt.kind), vmetric = "valid_" + metric;
              auto num = [&](const std::string& c) { return row[c].is_number() ? row[c].get<double>() : 0.0; };
              std::snprintf(buf, sizeof buf,
                            "[%lld/%lld] %s%s%s L%d k%d s%llu %s: %s %.4f (valid %.4f; best epoch %d of %d, %.1f s)",
                            static_cast<long long>(done), static_cast<long long>(total), plan.model.c_str(),
                            plan.language.empty() ? "" : " ", plan.language.c_str(), layer, k,
                            static_cast<unsigned long long>(seed), control ? "control" : "real", metric.c_str(),
                            num(metric), num(vmetric), row["best_epoch"].get<int>(), row["epochs"].get<int>(),
                            row["seconds"].get<double>());
              opt.log(buf);
              if (row["converged"].get<int>() == 0) {
                std::snprintf(buf, sizeof buf,
                              "warning: L%d k%d s%llu: the best epoch is the cap (%d): the probe may still be "
                              "improving; raise --epochs or --steps-per-epoch",
                              layer, k, static_cast<unsigned long long>(seed), settings.epochs);
                opt.log(buf);
              }
            }
          }
    }
  }
  return out;
}

}  // namespace ps::probes
