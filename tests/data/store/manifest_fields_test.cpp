// StoreReader's manifest answers and the one layer-spec rule (manifest_fields.h).
#include <gtest/gtest.h>

#include "data/store/manifest_fields.h"
#include "models/util/error.h"
#include "store_fixture.h"
#include "tests/common/scratch.h"

namespace ps::store {
namespace {

TEST(ManifestFields, ReaderAnswersWithTheManifestRules) {
  const std::string path = (ps::test::scratch_dir("fields") / "gpt2-small.h5").string();
  Manifest m = testing::base_manifest();
  m["language"] = "python";
  m["n_layers"] = "4";
  m.erase("model_label");
  testing::write_store(path, 4, 2, {}, m);
  const StoreReader r(path);
  EXPECT_EQ(r.model_label(), "gpt2-small");  // no label: the file's stem
  EXPECT_EQ(r.language(), "python");
  EXPECT_EQ(r.n_layers(), 4);
  EXPECT_EQ(r.model_label(), model_label(r.manifest(), path));
  // Stored words layers: {1}; tokens layers {0, 1}. -4 with n_layers 4 is hidden state 1.
  EXPECT_EQ(r.resolve_layers("all"), (std::vector<int>{1}));
  EXPECT_EQ(r.resolve_layers("-4"), (std::vector<int>{1}));
  EXPECT_EQ(r.resolve_layers("1,0", Rows::tokens), (std::vector<int>{1, 0}));
  try {
    r.resolve_layers("-1");  // layer 4: not stored
    FAIL();
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find("stored: 1"), std::string::npos) << what;
  }
}

TEST(ManifestFields, FinalNormLayerIsLabelled) {
  Manifest m = testing::base_manifest();
  EXPECT_EQ(layer_label(m, 4), "4");  // a store without the keys (BERT, older builds): plain numbers
  EXPECT_EQ(raw_last_block_act(m), "");
  m["final_norm"] = "ln_f";
  m["final_norm_layer"] = "4";
  m["raw_last_block"] = "words/blocks.3.hook_resid_post";
  EXPECT_EQ(layer_label(m, 4), "4 (ln_f)");
  EXPECT_EQ(layer_label(m, 3), "3");
  EXPECT_EQ(raw_last_block_act(m), "words/blocks.3.hook_resid_post");
  m.erase("final_norm");
  EXPECT_EQ(layer_label(m, 4), "4 (final norm)");
}

TEST(ManifestFields, LayerSpecRule) {
  EXPECT_EQ(resolve_layers("", {0, 2}, "s.h5", 0), (std::vector<int>{0, 2}));
  EXPECT_EQ(resolve_layers("2,0,2", {0, 2}, "s.h5", 0), (std::vector<int>{2, 0}));
  EXPECT_EQ(resolve_layers("-1", {0, 2}, "s.h5", 0), (std::vector<int>{2}));   // unknown depth: stored end
  EXPECT_EQ(resolve_layers("-1", {0, 12}, "s.h5", 12), (std::vector<int>{12})); // the model's last hidden state
  EXPECT_THROW(resolve_layers("-1", {0, 4}, "s.h5", 12), InputError);
  EXPECT_THROW(resolve_layers("x", {0}, "s.h5", 0), InputError);
  EXPECT_THROW(resolve_layers("all", {}, "s.h5", 0), InputError);
  Manifest m{{"n_layers", "many"}};
  EXPECT_THROW(n_layers(m, "s.h5"), InputError);
  EXPECT_EQ(language(Manifest{}), "");
}

}  // namespace
}  // namespace ps::store
