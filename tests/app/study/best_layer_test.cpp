// "{best-layer}" of a probe over another model's layer sweep: the reference's best validation layer, mapped to
// the same relative depth when the task's model has another depth (a checkpoint from before the model grew).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "app/study/best_layer.h"
#include "data/store/writer.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "tests/common/scratch.h"

namespace ps::study {
namespace {

// A store with only a manifest naming the model's depth: what best_layer reads of it.
std::string store_of_depth(const std::string& dir, int n_layers) {
  const std::string path = dir + "/d" + std::to_string(n_layers) + ".h5";
  ps::store::StoreWriter w(path, {{"n_layers", std::to_string(n_layers)}});
  w.finish();
  return path;
}

// The reference sweep: layers 0..8 at k 64, validation F1 peaking at layer 6.
std::string reference_results(const std::string& dir) {
  nlohmann::json rows = nlohmann::json::array();
  for (int layer = 0; layer <= 8; ++layer)
    rows.push_back({{"model", "deep"}, {"language", "python"}, {"layer", layer}, {"k", 64}, {"seed", 1},
                    {"task", "real"}, {"valid_f1_macro", layer == 6 ? 0.6 : 0.1 * layer / 8}});
  const std::string path = dir + "/results.json";
  ps::write_file_atomic(path, nlohmann::json{{"format", "probescope-probe-results/1"}, {"rows", rows}}.dump());
  return path;
}

TEST(StudyBestLayer, IsTheReferencesBestAtTheSameRelativeDepth) {
  const std::string dir = ps::test::scratch_dir("best_layer").string();
  Task t;
  t.id = "probe.checkpoints/step-1.python.t0";
  t.best_layer_from = {reference_results(dir)};
  t.best_layer_model = "deep", t.best_layer_k = 64, t.best_layer_metric = "valid_f1_macro";
  EXPECT_EQ(best_layer(t), 6);  // no stores named: the reference's layer as it is
  t.best_layer_ref_store = store_of_depth(dir, 8);
  t.best_layer_own_store = t.best_layer_ref_store;
  EXPECT_EQ(best_layer(t), 6);  // same depth
  t.best_layer_own_store = store_of_depth(dir, 4);
  EXPECT_EQ(best_layer(t), 3);  // 6 of 8 = 3 of 4
  t.best_layer_own_store = store_of_depth(dir, 12);
  EXPECT_EQ(best_layer(t), 9);
  t.best_layer_k = 32;          // no rows at that k: one line naming the task
  EXPECT_THROW(best_layer(t), ps::InputError);
}

}  // namespace
}  // namespace ps::study
