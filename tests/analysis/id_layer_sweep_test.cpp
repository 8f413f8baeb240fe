// Intrinsic dimension by layer read from a real store: layers with planted dimensions 4 and 12.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>

#include "analysis/id/layer_sweep.h"
#include "data/store/writer.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "tests/common/scratch.h"
#include "data/store/manifest_fields.h"
#include "data/store/reader.h"

namespace ps::analysis {
namespace {

// n points of a `dim`-dimensional standard Gaussian embedded linearly in D = 48 dims, plus tiny noise.
std::vector<float> gaussian(int64_t n, int dim, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0, 1);
  const int D = 48;
  std::vector<float> basis(size_t(dim * D));
  for (auto& v : basis) v = g(rng);
  std::vector<float> out(size_t(n * D));
  for (int64_t i = 0; i < n; ++i) {
    std::vector<float> z(static_cast<size_t>(dim));
    for (auto& v : z) v = g(rng);
    for (int c = 0; c < D; ++c) {
      float s = 1e-4f * g(rng);
      for (int k = 0; k < dim; ++k) s += z[size_t(k)] * basis[size_t(k * D + c)];
      out[size_t(i * D + c)] = s;
    }
  }
  return out;
}

// rogue > 0: coordinate 0 of layer 1 is multiplied by it (one dimension with a huge variance).
std::string planted_store(int64_t snippets, int64_t words_per, const std::string& label = "planted", float rogue = 0) {
  const auto dir = ps::test::scratch_dir("idsweep");
  const std::string path = (dir / "id.h5").string();
  store::WriterOptions wo;
  wo.mode = store::WriterOptions::Mode::overwrite;
  store::StoreWriter w(path, {{"model_label", label}}, wo);
  store::SnippetBatch b;
  for (int64_t s = 0; s < snippets; ++s) {
    store::Snippet sn;
    sn.id = "s" + std::to_string(s);
    for (int64_t t = 0; t < words_per; ++t) {
      sn.input_ids.push_back(int32_t(t));
      sn.char_spans.push_back({t, t + 1});
      sn.word_spans.push_back({t, t + 1});
      sn.word_subwords.push_back({t, t + 1});
    }
    b.snippets.push_back(sn);
  }
  const int64_t n = snippets * words_per;
  for (auto [layer, dim] : {std::pair<int, int>{0, 4}, {1, 12}}) {
    store::ActBlock a;
    a.rows = store::Rows::words;
    a.store = store::DType::f32;
    a.data = store::Block(store::DType::f32, 48);
    auto x = gaussian(n, dim, 7 + layer);
    if (rogue > 0 && layer == 1)
      for (int64_t i = 0; i < n; ++i) x[size_t(i * 48)] *= rogue;
    a.data.append(x.data(), n);
    b.acts[store::act_name(store::Rows::words, layer)] = std::move(a);
  }
  w.append(b);
  w.finish();
  return path;
}

TEST(IdLayerSweep, RecoversPlantedDimensionsPerLayer) {
  const auto path = planted_store(200, 20);  // 4000 points per layer
  LayerSweepOptions o;
  o.ci_reps = 20;
  o.max_points = 3000;
  o.blocks = {1, 2};
  const auto res = id_by_layer(path, o);
  std::map<std::pair<int, std::string>, LayerIdRow> by;
  for (const auto& r : res.rows) by[{r.layer, r.estimator}] = r;
  EXPECT_NEAR(by.at({0, "twonn"}).id, 4.0, 0.4);
  EXPECT_NEAR(by.at({1, "twonn"}).id, 12.0, 1.2);
  // At 3,000 points Levina–Bickel's (k−1) form overestimates d=4 by ~10%; the unbiased (k−2) form fixes that
  // but, like every kNN estimator, undershoots higher d at this sample size.
  EXPECT_NEAR(by.at({0, "mle"}).id, 4.0, 0.6);
  EXPECT_NEAR(by.at({1, "mle"}).id, 12.0, 1.8);
  LayerSweepOptions u = o;
  u.estimators = {"mle"};
  u.mle_unbiased = true;
  u.blocks.clear();
  for (const auto& r : id_by_layer(path, u).rows) EXPECT_NEAR(r.id, r.layer == 0 ? 4.0 : 12.0, r.layer == 0 ? 0.4 : 1.8);
  EXPECT_LE(by.at({0, "pca90"}).id, 4.0);
  EXPECT_LE(by.at({1, "pca90"}).id, 12.0);
  EXPECT_EQ(by.at({1, "twonn"}).n_points, 3000);
  EXPECT_LT(by.at({1, "twonn"}).lo, by.at({1, "twonn"}).id);
  EXPECT_GT(by.at({1, "twonn"}).hi, by.at({1, "twonn"}).id);
  EXPECT_EQ(by.at({0, "twonn"}).model, "planted");
  // seconds covers the estimator's own work (kNN + bootstrap), not only the bookkeeping around it: 20
  // bootstrap reps over 3,000 points take far more than a microsecond on any machine.
  EXPECT_GT(by.at({1, "twonn"}).seconds, 1e-4);
  EXPECT_GT(by.at({1, "mle"}).seconds, 1e-4);
  EXPECT_FALSE(res.blocks.empty());
  const auto csv = to_csv(res.rows);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "model,store,layer,estimator,id,lo,hi,n_points,n_used,n_duplicates,seconds");

  // The files `probescope id --out` and the desktop app write: the same CSV, the JSON, and block rows.
  const std::string dir = (std::filesystem::path(path).parent_path() / "id_out" / "nested").string();
  std::filesystem::remove_all(dir);
  EXPECT_EQ(write_results(dir, res, o), dir + "/id.csv");
  EXPECT_EQ(read_file(dir + "/id.csv"), csv);
  EXPECT_NE(read_file(dir + "/id.json").find("\"blocks\""), std::string::npos);
  EXPECT_EQ(read_file(dir + "/id_blocks.csv"), blocks_to_csv(res.blocks));
  LayerSweepResult no_blocks = res;
  no_blocks.blocks.clear();
  std::filesystem::remove(dir + "/id_blocks.csv");
  write_results(dir, no_blocks, o);
  EXPECT_FALSE(std::filesystem::exists(dir + "/id_blocks.csv"));
}

// An empty model_label falls back to the file stem, the rule the probe sweeps and the GUI use too, so one
// store has one label in id.csv and results.csv.
// One rogue coordinate with 1000× the spread sets PCA-90 to 1 on raw points; standardizing gives the
// 12 planted dimensions back their share. A global scale changes no estimate.
TEST(IdLayerSweep, StandardizeTamesARogueDimensionAndScaleChangesNothing) {
  const auto path = planted_store(100, 20, "planted", 1000.0f);
  LayerSweepOptions o;
  o.ci_reps = 0;
  o.max_points = 2000;
  o.layers = {1};
  o.estimators = {"pca", "twonn"};
  auto get = [&](const std::string& mode, const std::string& est) {
    LayerSweepOptions x = o;
    x.normalize = mode;
    for (const auto& r : id_by_layer(path, x).rows)
      if (r.estimator == est) return r.id;
    return -1.0;
  };
  EXPECT_EQ(get("none", "pca90"), 1.0);
  EXPECT_GE(get("standardize", "pca90"), 6.0);
  EXPECT_NEAR(get("scale", "twonn"), get("none", "twonn"), 1e-3);
  EXPECT_EQ(get("scale", "pca90"), get("none", "pca90"));
  LayerSweepOptions bad = o;
  bad.normalize = "unit";
  EXPECT_THROW(id_by_layer(path, bad), ps::InputError);
}

TEST(IdLayerSweep, EmptyModelLabelIsTheFileStemAsInProbeResults) {
  const auto path = planted_store(10, 5, "");
  LayerSweepOptions o;
  o.layers = {0};
  o.ci_reps = 0;
  o.estimators = {"pca"};
  const auto res = id_by_layer(path, o);
  ASSERT_FALSE(res.rows.empty());
  EXPECT_EQ(res.rows.front().model, "id");
  EXPECT_EQ(res.rows.front().model, store::model_label(store::StoreReader(path).manifest(), path));
}

TEST(IdLayerSweep, MissingLayerNamesTheStore) {
  const auto path = planted_store(10, 5);
  LayerSweepOptions o;
  o.layers = {3};
  o.ci_reps = 0;
  try {
    id_by_layer(path, o);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("id.h5: no words/layer_3"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ps::analysis

namespace ps::analysis {
namespace {

// Every column but the wall time.
std::string rows_without_seconds(const std::vector<LayerIdRow>& rows) {
  auto copy = rows;
  for (auto& r : copy) r.seconds = 0;
  return to_csv(copy);
}

// The CLI's Ctrl-C/SIGTERM path: the sweep's Progress is cancelled after the first layer. The stopped sweep
// leaves no id.csv/id.json (not even an older one); the rerun reuses that layer and ends as an
// uninterrupted sweep does.
TEST(IdLayerSweepResume, StoppedThenRerunEqualsUninterrupted) {
  const auto path = planted_store(60, 10);  // 600 points per layer, layers 0 and 1
  LayerSweepOptions o;
  o.ci_reps = 5;
  o.blocks = {1, 2};
  const std::vector<IdStoreJob> jobs = {{path, {}}};
  const auto base = ps::test::scratch_dir("idresume");
  const std::string whole = (base / "whole").string(), resumed = (base / "resumed").string();
  const auto expected = run_id_sweep(jobs, o, whole);
  ASSERT_TRUE(expected.complete);
  EXPECT_EQ(expected.layers_reused, 0);
  EXPECT_EQ(expected.csv, whole + "/id.csv");
  EXPECT_EQ(rows_without_seconds(expected.result.rows), rows_without_seconds(id_by_layer(path, o).rows));

  std::filesystem::create_directories(resumed);
  write_file_atomic(resumed + "/id.csv", "model,store,layer\nstale,,0\n");  // an older sweep's result
  Progress progress("id", 0, "layers", /*to_stderr=*/false);
  std::vector<int> computed;
  const auto stop_after_first = [&](const std::string&, int layer) {
    computed.push_back(layer);
    progress.cancel();
  };
  const auto stopped = run_id_sweep(jobs, o, resumed, &progress, stop_after_first);
  EXPECT_FALSE(stopped.complete);
  EXPECT_EQ(computed, std::vector<int>{0});
  EXPECT_TRUE(stopped.csv.empty());
  EXPECT_FALSE(file_exists(resumed + "/id.csv"));
  EXPECT_FALSE(file_exists(resumed + "/id.json"));
  EXPECT_FALSE(file_exists(resumed + "/id_blocks.csv"));
  EXPECT_TRUE(file_exists(resumed + "/id.layers.json"));

  computed.clear();
  const auto again = run_id_sweep(jobs, o, resumed, nullptr, [&](const std::string&, int l) { computed.push_back(l); });
  ASSERT_TRUE(again.complete);
  EXPECT_EQ(again.layers_reused, 1);
  EXPECT_EQ(computed, std::vector<int>{1});
  EXPECT_EQ(rows_without_seconds(again.result.rows), rows_without_seconds(expected.result.rows));
  EXPECT_EQ(blocks_to_csv(again.result.blocks), blocks_to_csv(expected.result.blocks));
  EXPECT_EQ(read_file(resumed + "/id_blocks.csv"), read_file(whole + "/id_blocks.csv"));
  EXPECT_EQ(read_file(resumed + "/id.csv"), to_csv(again.result.rows));
  // The reused layer's rows are the stopped sweep's, the seconds column included.
  for (size_t i = 0; i < stopped.result.rows.size(); ++i) EXPECT_EQ(again.result.rows[i].seconds, stopped.result.rows[i].seconds);

  // A finished sweep rerun reuses everything; other settings start over and drop the old final files first.
  EXPECT_EQ(run_id_sweep(jobs, o, resumed).layers_reused, 2);
  EXPECT_TRUE(file_exists(resumed + "/id.csv"));
  auto reseeded = o;
  reseeded.seed = 1;
  Progress cancelled("id", 0, "layers", /*to_stderr=*/false);
  cancelled.cancel();
  const auto other = run_id_sweep(jobs, reseeded, resumed, &cancelled);
  EXPECT_FALSE(other.complete);
  EXPECT_EQ(other.layers_reused, 0);
  EXPECT_FALSE(file_exists(resumed + "/id.csv"));
  EXPECT_EQ(run_id_sweep(jobs, reseeded, resumed).layers_reused, 0);
}

}  // namespace
}  // namespace ps::analysis
