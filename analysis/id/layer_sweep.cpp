#include "analysis/id/layer_sweep.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
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
// opt.normalize on the layer's rows, statistics from all of them (accumulated in double).
void normalize_points(store::Matrix& m, const std::string& mode) {
  if (mode == "none" || m.rows == 0) return;
  const int64_t n = m.rows, d = m.cols;
  std::vector<double> sum(size_t(d), 0.0), sq(size_t(d), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) {
      const double v = m.data[size_t(i * d + j)];
      sum[size_t(j)] += v, sq[size_t(j)] += v * v;
    }
  std::vector<float> shift(size_t(d), 0.0f), scale(size_t(d), 1.0f);
  if (mode == "scale") {
    double ms = 0;
    for (double s : sq) ms += s;
    ms /= double(n) * double(d);
    std::fill(scale.begin(), scale.end(), float(ms > 0 ? 1.0 / std::sqrt(ms) : 1.0));
  } else {
    for (int64_t j = 0; j < d; ++j) {
      const double mean = sum[size_t(j)] / double(n), var = std::max(0.0, sq[size_t(j)] / double(n) - mean * mean);
      shift[size_t(j)] = float(mean), scale[size_t(j)] = float(var > 0 ? 1.0 / std::sqrt(var) : 1.0);
    }
  }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) {
      float& v = m.data[size_t(i * d + j)];
      v = (v - shift[size_t(j)]) * scale[size_t(j)];
    }
}

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

// One finished layer of one store: what a resumed sweep stores and reuses.
struct LayerRows {
  std::vector<LayerIdRow> rows;
  std::vector<LayerBlockRow> blocks;
};
using ReuseLayer = std::function<const LayerRows*(int layer)>;
using OnLayer = std::function<void(int layer, const LayerRows&)>;

LayerSweepResult sweep_store(const std::string& store_path, const LayerSweepOptions& opt, Progress* progress,
                             const ReuseLayer& reuse, const OnLayer& on_layer, bool* stopped = nullptr) {
  for (const auto& e : opt.estimators)
    if (e != "twonn" && e != "mle" && e != "pca")
      throw InputError("--estimators: unknown estimator '" + e + "' (twonn, mle, pca)");
  if (opt.normalize != "none" && opt.normalize != "scale" && opt.normalize != "standardize")
    throw InputError("--normalize: unknown mode '" + opt.normalize + "' (none, scale or standardize)");
  store::StoreReader r(store_path);
  std::string model = r.model_label();
  std::vector<int> layers = opt.layers;
  const store::Rows rows = opt.points == "tokens" ? store::Rows::tokens : store::Rows::words;
  if (layers.empty()) layers = r.layers(rows);
  if (layers.empty()) throw InputError(store_path + ": the store has no " + store::rows_name(rows) + " activations");

  LayerSweepResult res;
  KnnOptions knn;
  knn.threads = std::max(1, opt.threads);
  for (size_t li = 0; li < layers.size(); ++li) {
    const int layer = layers[li];
    if (progress && progress->cancelled()) {
      if (stopped) *stopped = true;
      break;
    }
    if (const LayerRows* done = reuse ? reuse(layer) : nullptr) {
      res.rows.insert(res.rows.end(), done->rows.begin(), done->rows.end());
      res.blocks.insert(res.blocks.end(), done->blocks.begin(), done->blocks.end());
      if (progress) progress->advance(1);
      continue;
    }
    const size_t rows_before = res.rows.size(), blocks_before = res.blocks.size();
    store::Matrix all = layer_points(r, layer, opt.points);
    normalize_points(all, opt.normalize);
    const store::Matrix m = subsample(std::move(all), opt.max_points, opt.seed + uint64_t(layer));
    const PointsView x(m.data.data(), m.rows, m.cols, store_path + ":" + store::act_name(rows, layer));
    auto row = [&](const std::string& est, const IdEstimate& e, double secs) {
      LayerIdRow out{model, store_path, layer, est, e.value, e.ci_low, e.ci_high, m.rows, e.n_used, e.n_duplicates, secs};
      res.rows.push_back(out);
    };
    CiOptions ci{opt.ci_reps, opt.confidence, opt.seed};
    TwoNnOptions two;
    two.fit_fraction = opt.twonn_fraction, two.ci = ci, two.knn = knn;
    MleOptions ml;
    ml.k1 = opt.mle_k1, ml.k2 = opt.mle_k2, ml.unbiased = opt.mle_unbiased, ml.ci = ci, ml.knn = knn;
    // TwoNN and MLE both asked for: one kNN serves both (identical estimates); both rows carry its seconds.
    const auto has = [&](const char* e) { return std::find(opt.estimators.begin(), opt.estimators.end(), e) != opt.estimators.end(); };
    std::optional<std::pair<IdEstimate, IdEstimate>> shared;
    double shared_secs = 0;
    if (has("twonn") && has("mle")) {
      const auto t0 = Clock::now();
      shared = twonn_and_mle(x, two, ml);
      shared_secs = std::chrono::duration<double>(Clock::now() - t0).count();
    }
    for (const auto& est : opt.estimators) {
      const auto t0 = Clock::now();
      auto secs = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
      Estimator block_est;
      if (est == "twonn") {
        if (shared) row(est, shared->first, shared_secs);
        else {
          const IdEstimate e = twonn(x, two);  // before secs(): argument evaluation order is unspecified
          row(est, e, secs());
        }
        block_est = twonn_estimator(two);
      } else if (est == "mle") {
        if (shared) row(est, shared->second, shared_secs);
        else {
          const IdEstimate e = mle(x, ml);
          row(est, e, secs());
        }
        block_est = mle_estimator(ml);
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
    if (on_layer)
      on_layer(layer, {{res.rows.begin() + long(rows_before), res.rows.end()},
                       {res.blocks.begin() + long(blocks_before), res.blocks.end()}});
    if (progress) progress->advance(1);
  }
  return res;
}

}  // namespace

LayerSweepResult id_by_layer(const std::string& store_path, const LayerSweepOptions& opt, Progress* progress) {
  return sweep_store(store_path, opt, progress, nullptr, nullptr);
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

namespace {

nlohmann::json num(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }
double num_from(const nlohmann::json& j) { return j.is_null() ? std::nan("") : j.get<double>(); }

nlohmann::json options_json(const LayerSweepOptions& opt) {
  return {{"points", opt.points}, {"max_points", opt.max_points}, {"ci_reps", opt.ci_reps},
          {"confidence", opt.confidence}, {"mle_k1", opt.mle_k1}, {"mle_k2", opt.mle_k2},
          {"mle_unbiased", opt.mle_unbiased}, {"twonn_fraction", opt.twonn_fraction},
          {"pca_fraction", opt.pca_fraction}, {"seed", opt.seed}, {"normalize", opt.normalize}};
}

nlohmann::json row_json(const LayerIdRow& x) {
  return {{"model", x.model}, {"store", x.store}, {"layer", x.layer}, {"estimator", x.estimator},
          {"id", num(x.id)}, {"lo", num(x.lo)}, {"hi", num(x.hi)}, {"n_points", x.n_points},
          {"n_used", x.n_used}, {"n_duplicates", x.n_duplicates}, {"seconds", x.seconds}};
}

LayerIdRow row_from_json(const nlohmann::json& j) {
  return {j.at("model"), j.at("store"), j.at("layer"), j.at("estimator"), num_from(j.at("id")),
          num_from(j.at("lo")), num_from(j.at("hi")), j.at("n_points"), j.at("n_used"), j.at("n_duplicates"),
          j.at("seconds")};
}

nlohmann::json block_json(const LayerBlockRow& b) {
  nlohmann::json values = nlohmann::json::array();
  for (double v : b.block.values) values.push_back(num(v));
  return {{"model", b.model}, {"layer", b.layer}, {"estimator", b.estimator}, {"blocks", b.block.blocks},
          {"block_size", b.block.block_size}, {"mean", num(b.block.mean)}, {"sd", num(b.block.sd)},
          {"values", values}};
}

LayerBlockRow block_from_json(const nlohmann::json& j) {
  LayerBlockRow b{j.at("model"), j.at("layer"), j.at("estimator"), {}};
  b.block.blocks = j.at("blocks"), b.block.block_size = j.at("block_size");
  b.block.mean = num_from(j.at("mean")), b.block.sd = num_from(j.at("sd"));
  for (const auto& v : j.at("values")) b.block.values.push_back(num_from(v));
  return b;
}

}  // namespace

std::string to_json(const LayerSweepResult& r, const LayerSweepOptions& opt) {
  nlohmann::json j;
  j["options"] = options_json(opt);
  for (const auto& x : r.rows) j["rows"].push_back(row_json(x));
  for (const auto& b : r.blocks) j["blocks"].push_back(block_json(b));
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


namespace {

namespace fs = std::filesystem;

// What a resumed sweep must share with the one that wrote id.layers.json. A store rewritten since (a resumed
// or redone extract) has another size or time, so its old rows are not reused.
nlohmann::json sweep_identity(const std::vector<IdStoreJob>& jobs, const LayerSweepOptions& opt) {
  nlohmann::json j = options_json(opt);
  j["estimators"] = opt.estimators;
  j["blocks"] = opt.blocks;
  for (const auto& job : jobs) {
    std::error_code size_ec, time_ec;
    const auto size = fs::file_size(job.store, size_ec);
    const auto time = fs::last_write_time(job.store, time_ec).time_since_epoch().count();
    j["stores"].push_back({{"store", job.store}, {"layers", job.layers}, {"bytes", size_ec ? 0 : uint64_t(size)},
                           {"modified", time_ec ? 0 : int64_t(time)}});
  }
  return j;
}

using Finished = std::map<std::pair<std::string, int>, LayerRows>;  // (store, layer) -> its rows

struct SweepState {
  nlohmann::json identity;
  Finished layers;
  bool complete = false;

  std::string dump() const {
    nlohmann::json j = {{"identity", identity}, {"complete", complete}, {"layers", nlohmann::json::array()}};
    for (const auto& [key, done] : layers) {
      nlohmann::json rows = nlohmann::json::array(), blocks = nlohmann::json::array();
      for (const auto& r : done.rows) rows.push_back(row_json(r));
      for (const auto& b : done.blocks) blocks.push_back(block_json(b));
      j["layers"].push_back({{"store", key.first}, {"layer", key.second}, {"rows", rows}, {"blocks", blocks}});
    }
    return j.dump(1) + "\n";
  }
};

// The earlier sweep's state if it had this identity; otherwise an empty state (a file that does not parse,
// e.g. edited by hand, counts as another sweep's).
SweepState load_state(const std::string& path, const nlohmann::json& identity) {
  SweepState st;
  st.identity = identity;
  if (!file_exists(path)) return st;
  const auto j = nlohmann::json::parse(read_file(path), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || j.value("identity", nlohmann::json()).dump() != identity.dump()) return st;
  try {
    for (const auto& l : j.at("layers")) {
      LayerRows done;
      for (const auto& r : l.at("rows")) done.rows.push_back(row_from_json(r));
      for (const auto& b : l.at("blocks")) done.blocks.push_back(block_from_json(b));
      st.layers[{l.at("store").get<std::string>(), l.at("layer").get<int>()}] = std::move(done);
    }
    st.complete = j.at("complete").get<bool>();
  } catch (const nlohmann::json::exception&) {
    return SweepState{identity, {}, false};
  }
  return st;
}

}  // namespace

IdSweepRun run_id_sweep(const std::vector<IdStoreJob>& jobs, const LayerSweepOptions& opt, const std::string& dir,
                        Progress* progress, const std::function<void(const std::string&, int)>& on_layer) {
  IdSweepRun run;
  const std::string state_path = dir.empty() ? "" : (fs::path(dir) / "id.layers.json").string();
  SweepState st;
  if (!dir.empty()) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw RuntimeError(dir + ": cannot create directory: " + ec.message());
    st = load_state(state_path, sweep_identity(jobs, opt));
    // The final files stand only for a finished sweep of this identity: anything else goes before any work.
    if (!st.complete)
      for (const char* name : {"id.csv", "id.json", "id_blocks.csv"}) fs::remove(fs::path(dir) / name, ec);
  }
  for (const auto& job : jobs) {
    LayerSweepOptions o = opt;
    o.layers = job.layers;
    auto reuse = [&](int layer) -> const LayerRows* {
      const auto it = st.layers.find({job.store, layer});
      if (it == st.layers.end()) return nullptr;
      ++run.layers_reused;
      return &it->second;
    };
    auto save = [&](int layer, const LayerRows& done) {
      if (!dir.empty()) {
        st.layers[{job.store, layer}] = done;
        write_file_atomic(state_path, st.dump());
      }
      if (on_layer) on_layer(job.store, layer);
    };
    bool stopped = false;
    auto res = sweep_store(job.store, o, progress, reuse, save, &stopped);
    run.result.rows.insert(run.result.rows.end(), res.rows.begin(), res.rows.end());
    run.result.blocks.insert(run.result.blocks.end(), res.blocks.begin(), res.blocks.end());
    if (stopped) return run;
  }
  run.complete = true;
  if (dir.empty()) return run;
  st.complete = true;
  write_file_atomic(state_path, st.dump());
  run.csv = write_results(dir, run.result, opt);
  return run;
}

}  // namespace ps::analysis
