// rescaled_engine: the same weights under another RoPE scaling equal a model opened with that
// --rope-scaling from the start, share the base's tensors, leave the base untouched, and refuse a model
// without rotary positions.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "models/open/open_model.h"
#include "models/open/variant.h"
#include "models/util/error.h"
#include "tests/models/transformer/tiny_models.h"

namespace ps::models {
namespace {

using test::Tiny;

at::Tensor last_hidden(const Engine& e, const std::vector<int32_t>& ids) {
  Capture c;
  c.hooks = {"hidden_states.2"};
  return e.run({ids}, c).at(0).hooks.at("hidden_states.2");
}

OpenedModel open(const std::string& dir, const std::string& rope = "") {
  LoadOptions lo;
  lo.dtype = "float32";
  lo.threads = 1;
  lo.rope_scaling = rope;
  return open_model(ModelSource::directory(dir), lo);
}

TEST(RescaledEngine, EqualsOpeningWithTheScalingAndSharesTheWeights) {
  const std::string dir = test::write_tiny(Tiny::LLaMA);
  const auto base = open(dir);
  std::vector<int32_t> ids;
  for (int i = 0; i < 40; ++i) ids.push_back(int32_t((i * 7) % test::kTinyVocab));
  const auto before = last_hidden(*base.engine, ids);
  for (const std::string spec : {"linear:2", "yarn:4", "dynamic:2"}) {
    const auto v = rescaled_engine(*base.engine, dir, spec);
    EXPECT_EQ(v->options().rope_scaling, spec);
    EXPECT_EQ(v->model().parameters().at("embed.tokens").data_ptr(),
              base.engine->model().parameters().at("embed.tokens").data_ptr());
    EXPECT_TRUE(at::equal(last_hidden(*v, ids), last_hidden(*open(dir, spec).engine, ids))) << spec;
  }
  EXPECT_FALSE(at::allclose(last_hidden(*rescaled_engine(*base.engine, dir, "linear:2"), ids), before));
  // Back to the checkpoint's own setting, and the base never changed.
  EXPECT_TRUE(at::equal(last_hidden(*rescaled_engine(*base.engine, dir, ""), ids), before));
  EXPECT_TRUE(at::equal(last_hidden(*base.engine, ids), before));
}

TEST(RescaledEngine, RefusesModelsWithoutRotaryPositionsAndBadSpecs) {
  const std::string dir = test::write_tiny(Tiny::GPT2);
  const auto base = open(dir);
  EXPECT_THROW(rescaled_engine(*base.engine, dir, "yarn:4"), InputError);
  const std::string llama = test::write_tiny(Tiny::LLaMA);
  const auto l = open(llama);
  try {
    rescaled_engine(*l.engine, llama, "yarn:four");
    ADD_FAILURE() << "accepted a bad spec";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("yarn:four"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ps::models
