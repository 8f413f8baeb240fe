#include "analysis/id/layer_sweep.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/store/reader.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::analysis {

namespace {

using Clock = std::chrono::steady_clock;

// The layer's points as rows: per word, per token, or one mean vector per snippet.
store::Matrix layer_points(const store::StoreReader& r, int layer, const std::string& points) {
  if (points == "words" || points == "snippets") {
    const auto name = store::act_name(store::Rows::words, layer);
    if (!r.has_act(name)) throw InputError(r.path() + ": no " + name + " (extract with --layers including " + std::to_string(layer) + ")");
    store::Matrix m = r.load_act(name);
    if (points == "words") return m;
    store::Matrix means;
    means.cols = m.cols;
    means.rows = r.num_samples();
    means.data.assign(size_t(means.rows * means.cols), 0.f);
    const auto& off = r.word_offsets();
    for (int64_t i = 0; i < means.rows; ++i) {
      const int64_t n = off[i + 1] - off[i];
      float* out = means.data.data() + i * means.cols;
      for (int64_t w = off[i]; w < off[i + 1]; ++w)
        for (int64_t c = 0; c < m.cols; ++c) out[c] += m.row(w)[c] / float(n);
    }
    return means;
  }
  if (points == "tokens") {
    const auto name = store::act_name(store::Rows::tokens, layer);
    if (!r.has_act(name)) throw InputError(r.path() + ": no " + name + " (extract with --token-layers)");
    return r.load_act(name);
  }
  throw InputError("--points: '" + points + "' is not words, snippets or tokens");
}

// Seeded subsample of rows without replacement (partial Fisher–Yates), kept in original order.
store::Matrix subsample(store::Matrix m, int64_t max_points, uint64_t seed) {
  if (max_points <= 0 || m.rows <= max_points) return m;
  std::vector<int64_t> idx(size_t(m.rows));
  for (int64_t i = 0; i < m.rows; ++i) idx[i] = i;
  SplitMix64 rng(seed);
  for (int64_t i = 0; i < max_points; ++i) std::swap(idx[i], idx[i + int64_t(rng.below(uint64_t(m.rows - i)))]);
  idx.resize(size_t(max_points));
  std::sort(idx.begin(), idx.end());
  store::Matrix out;
  out.rows = max_points, out.cols = m.cols;
  out.data.resize(size_t(max_points * m.cols));
  for (int64_t k = 0; k < max_points; ++k) std::copy_n(m.row(idx[k]), m.cols, out.data.data() + k * m.cols);
  return out;
}

std::string fmt(double v) {
  if (std::isnan(v)) return "";
  std::ostringstream s;
  s.precision(6);
  s << v;
  return s.str();
}

}  // namespace

LayerSweepResult id_by_layer(const std::string& store_path, const LayerSweepOptions& opt, Progress* progress) {
  for (const auto& e : opt.estimators)
    if (e != "twonn" && e != "mle" && e != "pca")
      throw InputError("--estimators: unknown estimator '" + e + "' (twonn, mle, pca)");
  store::StoreReader r(store_path);
  const auto& man = r.manifest();
  std::string model = man.count("model_label") ? man.at("model_label") : std::filesystem::path(store_path).stem().string();
  std::vector<int> layers = opt.layers;
  const store::Rows rows = opt.points == "tokens" ? store::Rows::tokens : store::Rows::words;
  if (layers.empty()) layers = r.layers(rows);
  if (layers.empty()) throw InputError(store_path + ": the store has no " + store::rows_name(rows) + " activations");

  LayerSweepResult res;
  KnnOptions knn;
  knn.threads = std::max(1, opt.threads);
  for (size_t li = 0; li < layers.size(); ++li) {
    const int layer = layers[li];
    if (progress && progress->cancelled()) break;
    const store::Matrix m = subsample(layer_points(r, layer, opt.points), opt.max_points, opt.seed + uint64_t(layer));
    const PointsView x(m.data.data(), m.rows, m.cols, store_path + ":" + store::act_name(rows, layer));
    auto row = [&](const std::string& est, const IdEstimate& e, double secs) {
      LayerIdRow out{model, store_path, layer, est, e.value, e.ci_low, e.ci_high, m.rows, e.n_used, e.n_duplicates, secs};
      res.rows.push_back(out);
    };
    CiOptions ci{opt.ci_reps, opt.confidence, opt.seed};
    for (const auto& est : opt.estimators) {
      const auto t0 = Clock::now();
      auto secs = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
      Estimator block_est;
      if (est == "twonn") {
        TwoNnOptions o;
        o.fit_fraction = opt.twonn_fraction, o.ci = ci, o.knn = knn;
        const IdEstimate e = twonn(x, o);  // before secs(): argument evaluation order is unspecified
        row(est, e, secs());
        block_est = twonn_estimator(o);
      } else if (est == "mle") {
        MleOptions o;
        o.k1 = opt.mle_k1, o.k2 = opt.mle_k2, o.unbiased = opt.mle_unbiased, o.ci = ci, o.knn = knn;
        const IdEstimate e = mle(x, o);
        row(est, e, secs());
        block_est = mle_estimator(o);
      } else {
        PcaOptions o;
        o.variance_fraction = opt.pca_fraction;
        const PcaEstimate p = pca(x, o);
        IdEstimate n90, pr;
        n90.value = double(p.n_components), pr.value = p.participation_ratio;
        n90.n_used = pr.n_used = p.n_used;
        n90.n_duplicates = pr.n_duplicates = p.n_duplicates;
        if (opt.ci_reps > 0) {  // PCA has no per-point shortcut: resample rows (fewer reps; it is a full eigensolve)
          BootstrapOptions b{std::max(10, opt.ci_reps / 5), opt.confidence, opt.seed};
          const auto bn = bootstrap(x, pca_n_components_estimator(o), b);
          const auto bp = bootstrap(x, pca_participation_ratio_estimator(o), b);
          n90.ci_low = bn.ci_low, n90.ci_high = bn.ci_high, pr.ci_low = bp.ci_low, pr.ci_high = bp.ci_high;
        }
        const double s = secs();
        row("pca" + std::to_string(int(std::lround(opt.pca_fraction * 100))), n90, s);
        row("pr", pr, s);
        block_est = pca_participation_ratio_estimator(o);
      }
      if (!opt.blocks.empty()) {
        BlockOptions bo;
        bo.blocks = opt.blocks, bo.seed = opt.seed;
        for (auto& b : block_analysis(x, block_est, bo)) res.blocks.push_back({model, layer, est, std::move(b)});
      }
    }
    if (progress) progress->advance(1);
  }
  return res;
}

std::string to_csv(const std::vector<LayerIdRow>& rows) {
  std::string s = "model,store,layer,estimator,id,lo,hi,n_points,n_used,n_duplicates,seconds\n";
  for (const auto& r : rows)
    s += r.model + "," + r.store + "," + std::to_string(r.layer) + "," + r.estimator + "," + fmt(r.id) + "," +
         fmt(r.lo) + "," + fmt(r.hi) + "," + std::to_string(r.n_points) + "," + std::to_string(r.n_used) + "," +
         std::to_string(r.n_duplicates) + "," + fmt(r.seconds) + "\n";
  return s;
}

std::string blocks_to_csv(const std::vector<LayerBlockRow>& rows) {
  std::string s = "model,layer,estimator,blocks,block_size,mean,sd\n";
  for (const auto& r : rows)
    s += r.model + "," + std::to_string(r.layer) + "," + r.estimator + "," + std::to_string(r.block.blocks) + "," +
         std::to_string(r.block.block_size) + "," + fmt(r.block.mean) + "," + fmt(r.block.sd) + "\n";
  return s;
}

std::string to_json(const LayerSweepResult& r, const LayerSweepOptions& opt) {
  nlohmann::json j;
  j["options"] = {{"points", opt.points}, {"max_points", opt.max_points}, {"ci_reps", opt.ci_reps},
                  {"confidence", opt.confidence}, {"mle_k1", opt.mle_k1}, {"mle_k2", opt.mle_k2},
                  {"mle_unbiased", opt.mle_unbiased}, {"twonn_fraction", opt.twonn_fraction},
                  {"pca_fraction", opt.pca_fraction}, {"seed", opt.seed}};
  auto num = [](double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); };
  for (const auto& x : r.rows)
    j["rows"].push_back({{"model", x.model}, {"store", x.store}, {"layer", x.layer}, {"estimator", x.estimator},
                         {"id", num(x.id)}, {"lo", num(x.lo)}, {"hi", num(x.hi)}, {"n_points", x.n_points},
                         {"n_used", x.n_used}, {"n_duplicates", x.n_duplicates}, {"seconds", x.seconds}});
  for (const auto& b : r.blocks)
    j["blocks"].push_back({{"model", b.model}, {"layer", b.layer}, {"estimator", b.estimator},
                           {"blocks", b.block.blocks}, {"block_size", b.block.block_size}, {"mean", num(b.block.mean)},
                           {"sd", num(b.block.sd)}, {"values", b.block.values}});
  return j.dump(2);
}

std::string write_results(const std::string& dir, const LayerSweepResult& r, const LayerSweepOptions& opt) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw RuntimeError(dir + ": cannot create directory: " + ec.message());
  const std::string csv = (std::filesystem::path(dir) / "id.csv").string();
  write_file_atomic(csv, to_csv(r.rows));
  write_file_atomic((std::filesystem::path(dir) / "id.json").string(), to_json(r, opt));
  if (!r.blocks.empty()) write_file_atomic((std::filesystem::path(dir) / "id_blocks.csv").string(), blocks_to_csv(r.blocks));
  return csv;
}

}  // namespace ps::analysis
