// Model directories whose config.json or safetensors header claims sizes the files cannot back: each
// load fails with one line naming the file and the problem, before anything of the claimed size is
// allocated — checked again in a child under a hard address-space limit, so a regression fails the test
// instead of costing the machine.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/config/arch.h"
#include "models/safetensors/safetensors.h"
#include "models/transformer/transformer.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "tests/common/memory_limit.h"
#include "tests/common/scratch.h"
#include "tests/models/transformer/load_error.h"
#include "tests/models/transformer/tiny_models.h"

namespace ps::models {
namespace {

using nlohmann::json;
using test::Tiny;

struct BadModel {
  std::string name;
  Tiny kind;
  json config_patch;                 // merged into the tiny model's config.json
  std::string drop_tensor;           // removed from model.safetensors when not empty
  std::string expected;              // a part of the error message
};

const std::vector<BadModel>& bad_models() {
  static const std::vector<BadModel> cases = {
      {"huge_n_layer", Tiny::GPT2, {{"n_layer", 1000000000}}, "",
       "model.safetensors: tensor 'transformer.h.2.ln_1.weight': missing (needed for blocks.2.ln1.weight; "
       "config.json claims 1000000000 layers, the checkpoint holds 2)"},
      {"vocab_beyond_embedding", Tiny::GPT2, {{"vocab_size", 1000}}, "",
       "model.safetensors: tensor 'transformer.wte.weight': shape [50, 32], expected [1000, 32] from config.json"},
      {"positions_beyond_table", Tiny::GPT2, {{"n_positions", 1000000000}}, "",
       "tensor 'transformer.wpe.weight': shape [64, 32], expected [1000000000, 32] from config.json"},
      {"width_beyond_tensors", Tiny::GPT2, {{"n_embd", 1048576}, {"n_layer", 1}}, "",
       "tensor 'transformer.wte.weight': shape [50, 32], expected [50, 1048576] from config.json"},
      {"kv_heads_mismatch", Tiny::LLaMA, {{"num_key_value_heads", 4}}, "",
       "tensor 'model.layers.0.self_attn.k_proj.weight': shape [16, 32], expected [32, 32] from config.json"},
      {"n_head_not_dividing", Tiny::GPT2, {{"n_head", 5}}, "", "config.json: field 'n_head': must divide the hidden size"},
      {"missing_tensor", Tiny::GPT2, json::object(), "transformer.h.1.attn.c_proj.bias",
       "model.safetensors: tensor 'transformer.h.1.attn.c_proj.bias': missing (needed for blocks.1.attn.o.bias)"},
  };
  return cases;
}

std::string write_bad_model(const BadModel& b) {
  const std::string dir = test::scratch_dir(b.name).string();
  test::TinySpec spec = test::tiny_spec(b.kind);
  json config = json::parse(spec.config_json);
  config.merge_patch(b.config_patch);
  spec.config_json = config.dump(2);
  if (!b.drop_tensor.empty() && spec.tensors.erase(b.drop_tensor) != 1)
    throw std::logic_error("no tensor " + b.drop_tensor + " to drop");
  test::write_model(dir, spec);
  return dir;
}

using test::load_error;

TEST(UntrustedModel, ClaimedSizesAreCheckedAgainstTheTensors) {
  for (const auto& b : bad_models()) {
    const std::string dir = write_bad_model(b);
    const std::string err = load_error(dir);
    EXPECT_NE(err.find(b.expected), std::string::npos) << b.name << ": " << err;
    EXPECT_EQ(err.rfind(dir + "/", 0), 0u) << b.name << ": the message names the file: " << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  }
}

// A header entry whose shape product overflows, in place of the real embedding.
std::string write_overflowing_header_model() {
  const std::string dir = test::write_tiny(Tiny::GPT2);
  const std::string header =
      R"({"transformer.wte.weight":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})";
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = char((header.size() >> (8 * i)) & 0xff);
  write_file_atomic(dir + "/model.safetensors", bytes + header + std::string(8, '\0'));
  return dir;
}

TEST(UntrustedModel, ShapeProductOverflowInTheHeader) {
  const std::string dir = write_overflowing_header_model();
  EXPECT_EQ(load_error(dir), dir + "/model.safetensors: tensor 'transformer.wte.weight': shape overflows (element count too large)");
}

TEST(UntrustedModel, RandomInitRefusesSizesBeyondMemory) {
  json c = json::parse(test::tiny_spec(Tiny::GPT2).config_json);
  c["n_layer"] = 1000000000;  // 12.7e12 parameters: 46 TiB as float32
  const ArchSpec a = parse_arch(c.dump(), "config.json");
  try {
    Transformer::random_init(a, 1);
    FAIL() << "no error";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("random_init: config.json's sizes need 12704000005312 parameters (", 0), 0u) << msg;
    EXPECT_NE(msg.find("of memory available"), std::string::npos) << msg;
  }
}

// Each bad case again in a child limited to what the process has mapped plus 2 GiB; the good tiny model
// loads under the same limit, so the limit is not what makes the bad cases fail.
TEST(UntrustedModel, BadModelsFailCleanlyUnderAMemoryLimit) {
  if (test::kAddressSanitizer) GTEST_SKIP() << "RLIMIT_AS is meaningless under AddressSanitizer";
  // The limit bites: a loader that trusts a claim of 4 GiB gets bad_alloc instead of the memory.
  const auto trusting = test::run_with_memory_limit([] {
    std::vector<char> claimed(size_t(4) << 30, 1);
    return claimed.back() == 1 ? 0 : 1;
  });
  ASSERT_EQ(trusting.describe(), test::ChildResult{3 << 8}.describe());
  std::cout << "memory limit: " << (test::mapped_bytes() + test::kLoadHeadroom) / (1 << 20) << " MiB (mapped "
            << test::mapped_bytes() / (1 << 20) << " MiB + 2 GiB)\n";
  const std::string good = test::write_tiny(Tiny::GPT2);
  const auto loaded = test::run_with_memory_limit([&] { return Transformer::load(good)->arch().n_layers == 2 ? 0 : 1; });
  ASSERT_TRUE(loaded.ok()) << "good model: " << loaded.describe();
  for (const auto& b : bad_models()) {
    const std::string dir = write_bad_model(b);
    const auto r = test::run_with_memory_limit(
        [&] { return test::expect_error<InputError>([&] { Transformer::load(dir); }, b.expected); });
    EXPECT_TRUE(r.ok()) << b.name << ": " << r.describe();
  }
  const std::string overflow = write_overflowing_header_model();
  const auto r = test::run_with_memory_limit(
      [&] { return test::expect_error<InputError>([&] { Transformer::load(overflow); }, "shape overflows"); });
  EXPECT_TRUE(r.ok()) << "overflowing header: " << r.describe();
  json c = json::parse(test::tiny_spec(Tiny::GPT2).config_json);
  c["n_layer"] = 1000000000;
  const ArchSpec huge = parse_arch(c.dump(), "config.json");
  const auto ri = test::run_with_memory_limit(
      [&] { return test::expect_error<InputError>([&] { Transformer::random_init(huge, 1); }, "of memory available"); });
  EXPECT_TRUE(ri.ok()) << "random_init: " << ri.describe();
}

}  // namespace
}  // namespace ps::models
