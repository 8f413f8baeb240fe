// SPDF in train_lm (spec interventions.md §6(d)): exact-count static masks on the attention/MLP matrices only,
// pruned weights and their AdamW moments exactly 0 under weight decay, the dense switch (no change to the
// function, then the pruned weights train), s = 0 equal to the dense trainer bit for bit, resume of a sparse
// run equal to an uninterrupted one, FLOP accounting, and bad input.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/config/arch.h"
#include "models/intervene/prune.h"
#include "models/tokenizer/tokenizer.h"
#include "models/train/hf_checkpoint.h"
#include "models/train/lm_data.h"
#include "models/train/run_dir.h"
#include "models/train/sparsity.h"
#include "models/train/trainer.h"
#include "models/transformer/transformer.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "tests/models/train/train_fixtures.h"

namespace {

namespace fs = std::filesystem;
using namespace ps::train;

const pstest::FrozenCorpus& corpus() { return pstest::frozen_corpus("tokenizer"); }

TrainOptions tiny_llama(const std::string& out) {
  TrainOptions o;
  o.shape.arch = "llama", o.shape.layers = 2, o.shape.d_model = 64, o.shape.heads = 2, o.shape.ctx = 64;
  o.tokenizer_path = corpus().tokenizer;
  o.out_dir = out;
  o.batch_tokens = 512, o.lr = 1e-2, o.warmup = 2, o.seed = 5, o.threads = 1, o.bf16 = "off";
  o.eval_tokens = 512, o.weight_decay = 0.1, o.steps = 8, o.eval_every = 100;
  return o;
}

// The parameters train_lm starts from (the same shape resolution and init).
std::map<std::string, at::Tensor> init_params(const TrainOptions& o) {
  const auto tok = ps::tok::Tokenizer::from_file(o.tokenizer_path);
  const auto shape = resolve_shape(o, tok);
  const auto arch = ps::models::parse_arch(lm_config_json(shape), "config");
  return init_model(shape, arch, o.seed)->parameters();
}

std::map<std::string, at::Tensor> ckpt_params(const std::string& dir) {
  auto m = ps::models::Transformer::load(dir, at::kFloat);
  std::map<std::string, at::Tensor> out;
  for (const auto& [k, t] : m->parameters()) out[k] = t.detach().clone();
  return out;
}

bool is_block_matrix(const std::string& k) {
  return k.rfind("blocks.", 0) == 0 && k.size() > 7 && k.compare(k.size() - 7, 7, ".weight") == 0 &&
         (k.find(".attn.") != std::string::npos || k.find(".mlp.") != std::string::npos);
}

TEST(Spdf, MaskIsExactPerMatrixAndOnlyOnAttentionAndMlp) {
  const auto params = init_params(tiny_llama(""));
  for (double s : {0.0, 0.5, 0.75, 0.9}) {
    const auto m = StaticMask::draw(params, s, 5);
    size_t matrices = 0;
    for (const auto& [k, p] : params) {
      if (!is_block_matrix(k)) {
        EXPECT_FALSE(m.masks().count(k)) << k;
        continue;
      }
      ++matrices;
      const auto& mask = m.masks().at(k);
      EXPECT_EQ(mask.numel() - mask.count_nonzero().item<int64_t>(), ps::models::pruned_count(p.numel(), s)) << k;
    }
    EXPECT_EQ(matrices, 2u * 7u);  // q k v o gate up down per block
    EXPECT_EQ(m.masks().size(), matrices);
  }
  // Deterministic in the seed; another seed, another mask.
  EXPECT_TRUE(at::equal(StaticMask::draw(params, 0.5, 5).masks().begin()->second, StaticMask::draw(params, 0.5, 5).masks().begin()->second));
  EXPECT_FALSE(at::equal(StaticMask::draw(params, 0.5, 5).masks().begin()->second, StaticMask::draw(params, 0.5, 6).masks().begin()->second));
}

// Identities 1 and 2: after N AdamW steps with weight decay the pruned weights and their m, v are exactly 0,
// the count is exact, and every other tensor is dense.
TEST(Spdf, PrunedWeightsAndMomentsStayExactlyZero) {
  auto o = tiny_llama(pstest::temp_dir("spdf_zero"));
  o.sparsity = 0.75, o.keep_steps = {7};
  const auto r = train_lm(o, corpus().train, corpus().valid);
  ASSERT_TRUE(r.complete);
  const auto mask = StaticMask::draw(init_params(o), 0.75, o.seed);
  const std::string ck = o.out_dir + "/step-000007";  // sparse for all 8 updates; step 7 still holds the mask file
  ASSERT_TRUE(fs::exists(ck + "/" + kSparsityMaskFile));
  const auto saved = StaticMask::load(ck + "/" + kSparsityMaskFile, ckpt_params(ck));
  for (const auto& [k, m] : mask.masks()) EXPECT_TRUE(at::equal(saved.masks().at(k), m)) << k;
  for (const auto& step : {ck, o.out_dir + "/step-000008"}) {
    const auto w = ckpt_params(step);
    const auto opt = read_safetensors(step + "/optimizer.safetensors");
    for (const auto& [k, p] : w) {
      if (!mask.masks().count(k)) {
        EXPECT_EQ(p.count_nonzero().item<int64_t>(), p.numel()) << k;  // dense
        continue;
      }
      const auto pruned = mask.masks().at(k) == 0;
      EXPECT_EQ(p.masked_select(pruned).abs().max().item<float>(), 0.f) << k;
      EXPECT_EQ(p.numel() - p.count_nonzero().item<int64_t>(), ps::models::pruned_count(p.numel(), 0.75)) << k;
      for (const char* m : {"exp_avg.", "exp_avg_sq."}) {
        const auto& t = opt.at(m + k);
        EXPECT_EQ(t.masked_select(pruned).abs().max().item<float>(), 0.f) << m << k;
        EXPECT_GT(t.masked_select(pruned.logical_not()).count_nonzero().item<int64_t>(), 0) << m << k;
      }
    }
  }
  // FLOPs: only the sparse matmuls shrink; the report is beside the dense twin.
  const auto f = nlohmann::json::parse(ps::read_file(o.out_dir + "/flops.json"));
  const double maskable = f["per_token_dense"]["maskable_matmuls"];
  int64_t masked = 0;
  for (const auto& [k, m] : mask.masks()) masked += m.numel();
  EXPECT_DOUBLE_EQ(maskable, 6.0 * double(masked));
  EXPECT_NEAR(f["flops_saved"].get<double>(), 0.75 * maskable * 512 * 8, 1e-6 * maskable * 512 * 8);
  EXPECT_NEAR(f["saved_share_of_sparse_matmuls"].get<double>(), 0.75, 1e-12);
  EXPECT_GT(f["saved_share_of_total"].get<double>(), 0.0);
  EXPECT_LT(f["saved_share_of_total"].get<double>(), 0.75);
  EXPECT_EQ(r.flops, f);
}

at::Tensor loss_on(const std::map<std::string, at::Tensor>& params, const std::string& like_dir, const TrainOptions& o) {
  auto m = ps::models::Transformer::load(like_dir, at::kFloat);
  {
    at::NoGradGuard g;
    for (const auto& [k, t] : m->parameters()) t.copy_(params.at(k));
  }
  const auto tok = ps::tok::Tokenizer::from_file(o.tokenizer_path);
  std::vector<std::vector<int32_t>> docs;
  for (const auto& d : corpus().train) docs.push_back(tok.encode(d, false).ids);
  PackedData data(docs, tok.token_to_id("<|endoftext|>"), o.shape.ctx);
  return lm_loss(*m, data.train_rows(o.seed, 4 * 8, 8), false);
}

// Identity 3: unmasking changes nothing in the function; one dense step later the pruned weights move.
TEST(Spdf, DenseSwitchKeepsTheFunctionThenTrainsThePrunedWeights) {
  auto o = tiny_llama(pstest::temp_dir("spdf_switch"));
  o.sparsity = 0.5, o.sparse_until = 4, o.steps = 6, o.keep_steps = {3, 4, 5};
  train_lm(o, corpus().train, corpus().valid);
  const auto mask = StaticMask::draw(init_params(o), 0.5, o.seed);
  EXPECT_TRUE(fs::exists(o.out_dir + "/step-000003/" + kSparsityMaskFile));
  EXPECT_FALSE(fs::exists(o.out_dir + "/step-000004/" + kSparsityMaskFile));  // dense from here
  const auto at4 = ckpt_params(o.out_dir + "/step-000004"), at5 = ckpt_params(o.out_dir + "/step-000005");
  auto masked = at4;
  for (const auto& [k, m] : mask.masks()) masked[k] = at4.at(k) * m;
  const std::string dir4 = o.out_dir + "/step-000004";
  EXPECT_TRUE(at::equal(loss_on(at4, dir4, o), loss_on(masked, dir4, o)));
  const auto opt4 = read_safetensors(dir4 + "/optimizer.safetensors");
  for (const auto& [k, m] : mask.masks()) {
    const auto pruned = m == 0;
    EXPECT_EQ(at4.at(k).masked_select(pruned).abs().max().item<float>(), 0.f) << k;
    EXPECT_EQ(opt4.at("exp_avg_sq." + k).masked_select(pruned).abs().max().item<float>(), 0.f) << k;
    const auto moved = at5.at(k).masked_select(pruned).count_nonzero().item<int64_t>();
    EXPECT_GT(double(moved), 0.9 * double(pruned.sum().item<int64_t>())) << k;
  }
  const auto state = nlohmann::json::parse(ps::read_file(dir4 + "/trainer_state.json"));
  EXPECT_EQ(state["sparsity"]["masked"], false);
  EXPECT_EQ(state["sparsity"]["sparse_until"], 4);
  const auto f = nlohmann::json::parse(ps::read_file(o.out_dir + "/flops.json"));
  EXPECT_NEAR(f["saved_share_of_sparse_matmuls"].get<double>(), 0.5 * 4 / 6, 1e-12);
}


// Identity 4: s = 0 runs the masking machinery on all-ones masks and must not change one bit.
TEST(Spdf, ZeroSparsityIsTheDenseTrajectory) {
  auto dense = tiny_llama(pstest::temp_dir("spdf_dense"));
  auto zero = dense;
  zero.out_dir = pstest::temp_dir("spdf_s0");
  zero.sparsity = 0, zero.sparse_until = 5;
  train_lm(dense, corpus().train, corpus().valid);
  train_lm(zero, corpus().train, corpus().valid);
  const auto a = read_safetensors(dense.out_dir + "/step-000008/model.safetensors"),
             b = read_safetensors(zero.out_dir + "/step-000008/model.safetensors");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [k, t] : a) EXPECT_TRUE(at::equal(t, b.at(k))) << k;
  const auto oa = read_safetensors(dense.out_dir + "/step-000008/optimizer.safetensors"),
             ob = read_safetensors(zero.out_dir + "/step-000008/optimizer.safetensors");
  for (const auto& [k, t] : oa) EXPECT_TRUE(at::equal(t, ob.at(k))) << k;
  EXPECT_EQ(pstest::log_without_seconds(dense.out_dir + "/train_log.csv"), pstest::log_without_seconds(zero.out_dir + "/train_log.csv"));
  EXPECT_FALSE(fs::exists(dense.out_dir + "/flops.json"));
}

// Resume across a checkpoint while sparse: the mask comes back from the checkpoint, and the result is
// bit-identical to the uninterrupted run; a checkpoint without its mask is refused.
TEST(Spdf, ResumeWhileSparseEqualsUninterrupted) {
  auto a = tiny_llama(pstest::temp_dir("spdf_resume_a"));
  a.sparsity = 0.75, a.sparse_until = 8, a.steps = 10, a.checkpoint_every = 3;
  train_lm(a, corpus().train, corpus().valid);
  auto b = a;
  b.out_dir = pstest::temp_dir("spdf_resume_b");
  b.stop_after = 5, b.checkpoint_on_stop = false;  // killed after step 5: resumes from step 3, sparse
  train_lm(b, corpus().train, corpus().valid);
  ASSERT_EQ(list_checkpoints(b.out_dir), (std::vector<int64_t>{3}));
  fs::copy(b.out_dir, b.out_dir + "_nomask", fs::copy_options::recursive);
  b.stop_after = 0;
  const auto resumed = train_lm(b, corpus().train, corpus().valid);
  EXPECT_EQ(resumed.start_step, 3);
  ASSERT_TRUE(resumed.complete);
  const auto wa = read_safetensors(a.out_dir + "/step-000010/model.safetensors"),
             wb = read_safetensors(b.out_dir + "/step-000010/model.safetensors");
  for (const auto& [k, t] : wa) EXPECT_TRUE(at::equal(t, wb.at(k))) << k;
  EXPECT_EQ(pstest::log_without_seconds(a.out_dir + "/train_log.csv"), pstest::log_without_seconds(b.out_dir + "/train_log.csv"));
  auto c = b;
  c.out_dir = b.out_dir + "_nomask";
  fs::remove(c.out_dir + "/step-000003/" + kSparsityMaskFile);
  EXPECT_THROW(train_lm(c, corpus().train, corpus().valid), ps::InputError);
  auto d = a;  // another sparsity is another run
  d.sparsity = 0.5;
  EXPECT_THROW(train_lm(d, corpus().train, corpus().valid), ps::InputError);
}

TEST(Spdf, BadOptionsAreOneLineErrorsNamingTheOption) {
  auto expect = [](TrainOptions o, const std::string& part) {
    try {
      train_lm(o, corpus().train, corpus().valid);
      ADD_FAILURE() << "no error, expected " << part;
    } catch (const ps::InputError& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    }
  };
  auto o = tiny_llama(pstest::temp_dir("spdf_bad"));
  o.sparse_until = 4;
  expect(o, "--sparse-until");
  o.sparse_until = -1, o.sparsity = 1.0;
  expect(o, "--sparsity");
  o.sparsity = 0.5, o.sparse_until = 9;
  expect(o, "--sparse-until");
  EXPECT_TRUE(list_checkpoints(o.out_dir).empty());
}

// The CLI faces: exit code 2 and one line naming the option.
TEST(SpdfCli, BadSparsityOptionsExitTwo) {
  const std::string exe = std::string(PS_BINARY_DIR) + "/app/cli/probescope";
  if (!fs::exists(exe)) GTEST_SKIP() << exe << " is not built";
  const std::string dir = pstest::temp_dir("spdf_cli");
  auto run = [&](const std::string& args) {
    const std::string log = dir + "/err.txt";
    const int st = std::system((exe + " " + args + " > /dev/null 2> " + log).c_str());
    return std::pair{WEXITSTATUS(st), ps::read_file(log)};
  };
  const std::string train = "train --corpus " + dir + "/none.jsonl --tokenizer " + corpus().tokenizer + " --out " + dir + "/run ";
  for (const auto& [args, part] : std::vector<std::pair<std::string, std::string>>{
           {train + "--sparsity 1", "--sparsity"},
           {train + "--sparsity -0.5", "--sparsity"},
           {train + "--sparse-until 5", "--sparse-until"},
           {train + "--sparsity 0.5 --sparse-until 0", "--sparse-until"},
           {"intervene " + dir + " --out " + dir + "/o --prune magnitude:sparsity=1", "--prune"},
           {"intervene " + dir + " --out " + dir + "/o --prune magnitude:sparsity=0.5,filter=emb", "--prune filter"},
           {"intervene " + dir + " --out " + dir + "/o --prune magnitude:sparsity=0.5,bogus=1", "--prune"},
           {"intervene " + dir + " --out " + dir + "/o --decompose lowrank+sparse:rank=0,nnz=3", "--decompose rank"},
           {"intervene " + dir + " --out " + dir + "/o --decompose lowrank+sparse:rank=2,nnz=-3", "--decompose nnz"}}) {
    const auto [code, err] = run(args);
    EXPECT_EQ(code, 2) << args << ": " << err;
    EXPECT_NE(err.find(part), std::string::npos) << args << ": " << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << args << ": " << err;
  }
}

}  // namespace
