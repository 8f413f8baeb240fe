// LM training: packing (planted), HF checkpoints round-tripping through Transformer::load, a tiny real
// training run on this repository's code, and kill + resume = uninterrupted.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/config/arch.h"
#include "models/tokenizer/tokenizer.h"
#include "models/train/bpe_trainer.h"
#include "models/train/evaluate.h"
#include "models/train/hf_checkpoint.h"
#include "models/train/lm_data.h"
#include "models/train/run_dir.h"
#include "models/train/trainer.h"
#include "models/transformer/transformer.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "tests/models/train/train_fixtures.h"

namespace {

namespace fs = std::filesystem;
using ps::models::Transformer;
using namespace ps::train;

TEST(PackedData, RowsTargetsPositionsAndMask) {
  PackedData d({{1, 2, 3}, {}, {4, 5}}, 0, 4);  // stream 1 2 3 0 4 5 0 (empty doc dropped)
  EXPECT_EQ(d.documents(), 2);
  EXPECT_EQ(d.tokens_per_epoch(), 7);
  EXPECT_EQ(d.rows_per_epoch(), 1);  // (7 - 1) / 4
  EXPECT_EQ(d.eval_rows(), 2);
  const auto b = d.eval_batch(0, 2);
  EXPECT_TRUE(at::equal(b.input_ids, at::tensor({1, 2, 3, 0, 4, 5, 0, 0}, at::kLong).view({2, 4})));
  EXPECT_TRUE(at::equal(b.targets, at::tensor({2, 3, 0, 4, 5, 0, -100, -100}, at::kLong).view({2, 4})));
  EXPECT_TRUE(at::equal(b.position_ids, at::tensor({0, 1, 2, 3, 0, 1, 2, 0}, at::kLong).view({2, 4})));
  EXPECT_EQ(b.n_targets, 6);
  // Row 1: "5 0" continue document 2 from row 0 (positions restart at the row), then padding alone.
  const auto m = b.attn_mask[0];
  EXPECT_TRUE(m[3][0].item<bool>() && m[3][3].item<bool>() && !m[2][3].item<bool>());  // causal in doc 1
  const auto m1 = b.attn_mask[1];
  EXPECT_TRUE(m1[2][0].item<bool>() && m1[2][1].item<bool>() && m1[2][2].item<bool>());  // EOS sees its doc
  EXPECT_FALSE(m1[3][2].item<bool>());  // padding sees only padding
  PackedData two({{1, 2, 3}, {4, 5}}, 0, 2);
  const auto t = two.train_rows(7, 0, 3);  // 3 rows per epoch: the third row is the last of epoch 0
  const auto order = epoch_order(2, 7, 0);
  const int first = order[0] == 0 ? 1 : 4;
  EXPECT_EQ(t.input_ids[0][0].item<int64_t>(), first);
  EXPECT_EQ(t.targets[2][1].item<int64_t>(), 0);  // epoch ends with EOS as a target
  // Row 0 of the next epoch follows a different (seeded) order; rows are a pure function of (seed, row).
  EXPECT_TRUE(at::equal(two.train_rows(7, 3, 1).input_ids, PackedData({{1, 2, 3}, {4, 5}}, 0, 2).train_rows(7, 3, 1).input_ids));
}

TEST(PackedData, EpochOrderIsSeededPermutation) {
  const auto a = epoch_order(100, 1, 0), b = epoch_order(100, 1, 1), c = epoch_order(100, 2, 0);
  EXPECT_EQ(a, epoch_order(100, 1, 0));
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);
  auto s = a;
  std::sort(s.begin(), s.end());
  for (int i = 0; i < 100; ++i) ASSERT_EQ(s[i], i);
}

// A tiny model of the arch, written as a checkpoint and loaded back: identical logits.
void check_round_trip(const std::string& arch_name) {
  LmShape shape;
  shape.arch = arch_name, shape.vocab_size = 50, shape.layers = 2, shape.d_model = 32, shape.heads = 4, shape.ctx = 16;
  shape.kv_heads = arch_name == "llama" ? 2 : 0;
  const std::string config = lm_config_json(shape);
  const auto arch = ps::models::parse_arch(config, "config");
  auto model = Transformer::random_init(arch, 11);
  const std::string dir = pstest::temp_dir("round_trip_" + arch_name);
  ps::write_file_atomic(dir + "/config.json", config);
  write_hf_weights(dir + "/model.safetensors", arch, model->parameters(), at::kFloat);
  auto loaded = Transformer::load(dir, at::kFloat);
  ps::models::Capture cap;
  cap.logits = true;
  const auto ids = at::randint(0, 50, {2, 16}, at::kLong);
  const auto a = model->forward({ids, {}, {}, {}}, cap).logits, b = loaded->forward({ids, {}, {}, {}}, cap).logits;
  EXPECT_TRUE(at::equal(a, b)) << arch_name;
  const auto names = read_safetensors(dir + "/model.safetensors");
  if (arch_name == "gpt2") {
    ASSERT_TRUE(names.count("transformer.h.0.attn.c_attn.weight"));
    EXPECT_EQ(names.at("transformer.h.0.attn.c_attn.weight").size(1), 96);  // Conv1D [in, out]
    EXPECT_FALSE(names.count("lm_head.weight"));                            // tied: stored once
  } else {
    EXPECT_TRUE(names.count("model.layers.1.mlp.gate_proj.weight"));
    EXPECT_EQ(names.at("model.layers.0.self_attn.k_proj.weight").size(0), 16);  // 2 kv heads x 8
  }
  // float16 export loads too, with logits close to float32.
  ps::write_file_atomic(dir + "/tokenizer.json", "{}");
  export_model(dir, dir + "/f16", at::kHalf);
  auto half = Transformer::load(dir + "/f16", at::kFloat);
  EXPECT_LT((half->forward({ids, {}, {}, {}}, cap).logits - a).abs().max().item<double>(), 5e-3);
  EXPECT_LT(fs::file_size(dir + "/f16/model.safetensors"), fs::file_size(dir + "/model.safetensors") * 0.55);
}

TEST(HfCheckpoint, Gpt2RoundTripsThroughTransformerLoad) { check_round_trip("gpt2"); }
TEST(HfCheckpoint, LlamaRoundTripsThroughTransformerLoad) { check_round_trip("llama"); }

TEST(HfCheckpoint, RejectsBadShapes) {
  LmShape s;
  s.vocab_size = 50, s.d_model = 30, s.heads = 4;
  EXPECT_THROW(lm_config_json(s), ps::InputError);  // 4 heads do not divide 30
  s.d_model = 32, s.arch = "bert";
  EXPECT_THROW(lm_config_json(s), ps::InputError);
}

// Frozen (the sources of models/tokenizer, transformer, config and safetensors at 5545a8d): the loss
// thresholds below were set on this text, and the live sources change with every commit.
const pstest::FrozenCorpus& corpus() { return pstest::frozen_corpus("tokenizer"); }

TrainOptions tiny(const std::string& arch, const std::string& out) {
  TrainOptions o;
  o.shape.arch = arch, o.shape.layers = 2, o.shape.d_model = 64, o.shape.heads = 2, o.shape.ctx = 64;
  o.tokenizer_path = corpus().tokenizer;
  o.out_dir = out;
  o.batch_tokens = 1024, o.lr = 1e-2, o.warmup = 10, o.seed = 5, o.threads = 1, o.bf16 = "off";
  o.eval_tokens = 2048;
  return o;
}

TEST(TrainLm, TinyModelLearnsCode) {
  auto o = tiny("gpt2", pstest::temp_dir("tiny"));
  o.steps = 200, o.eval_every = 100, o.batch_tokens = 512;
  const auto r = train_lm(o, corpus().train, corpus().valid);
  ASSERT_TRUE(r.complete);
  const double lnv = std::log(384.0);
  std::ifstream log(o.out_dir + "/train_log.csv");
  std::string line, last;
  double first_loss = 0;
  int rows = 0;
  std::getline(log, line);
  EXPECT_EQ(line, "step,lr,loss,tokens,seconds,grad_norm");
  while (std::getline(log, line)) {
    if (rows++ == 0) first_loss = std::stod(line.substr(line.find(',', line.find(',') + 1) + 1));
    last = line;
  }
  EXPECT_EQ(rows, 200);
  EXPECT_NEAR(first_loss, lnv, 0.3);  // random init: close to uniform
  EXPECT_LT(r.valid_loss, lnv - 1.2) << "valid ppl " << r.valid_ppl;
  EXPECT_LT(r.valid_ppl, 0.85 * r.unigram_ppl);  // uses context: clearly better than token frequencies alone
  EXPECT_EQ(r.tokens, 200 * 512);
  // The final checkpoint is a Hugging Face model directory that scores validation exactly as in training.
  const std::string ckpt = o.out_dir + "/step-000200";
  ASSERT_EQ(r.last_checkpoint, ckpt);
  auto loaded = Transformer::load(ckpt, at::kFloat);
  const auto tok = ps::tok::Tokenizer::from_file(ckpt + "/tokenizer.json");
  std::vector<std::vector<int32_t>> docs, train_docs;
  for (const auto& d : corpus().valid) docs.push_back(tok.encode(d, false).ids);
  for (const auto& d : corpus().train) train_docs.push_back(tok.encode(d, false).ids);
  PackedData valid(docs, 0, 64);
  const auto uni = unigram_nll(PackedData(train_docs, 0, 64).token_counts(384));
  const auto e = evaluate(*loaded, valid, uni, 0, 16, false);
  EXPECT_NEAR(e.loss, r.valid_loss, 1e-4);
  EXPECT_NEAR(e.unigram_ppl(), r.unigram_ppl, 1e-6 * r.unigram_ppl);
}

std::map<std::string, at::Tensor> final_weights(const std::string& dir, int64_t step) {
  return read_safetensors(dir + "/" + step_dir_name(step) + "/model.safetensors");
}

TEST(TrainLm, ResumeAfterKillEqualsUninterrupted) {
  auto a = tiny("llama", pstest::temp_dir("resume_a"));
  a.steps = 12, a.checkpoint_every = 4, a.eval_every = 6;
  train_lm(a, corpus().train, corpus().valid);
  EXPECT_EQ(list_checkpoints(a.out_dir), (std::vector<int64_t>{8, 12}));  // keep_last 1 + final

  auto b = a;
  b.out_dir = pstest::temp_dir("resume_b");
  b.stop_after = 6, b.checkpoint_on_stop = false;  // dies after step 6: steps 5-6 are lost
  const auto killed = train_lm(b, corpus().train, corpus().valid);
  EXPECT_FALSE(killed.complete);
  EXPECT_EQ(list_checkpoints(b.out_dir), (std::vector<int64_t>{4}));
  b.stop_after = 0;
  const auto resumed = train_lm(b, corpus().train, corpus().valid);
  EXPECT_EQ(resumed.start_step, 4);
  EXPECT_TRUE(resumed.complete);
  const auto wa = final_weights(a.out_dir, 12), wb = final_weights(b.out_dir, 12);
  ASSERT_EQ(wa.size(), wb.size());
  for (const auto& [k, t] : wa) EXPECT_TRUE(at::equal(t, wb.at(k))) << k;
  const auto oa = read_safetensors(a.out_dir + "/step-000012/optimizer.safetensors");
  const auto ob = read_safetensors(b.out_dir + "/step-000012/optimizer.safetensors");
  for (const auto& [k, t] : oa) EXPECT_TRUE(at::equal(t, ob.at(k))) << k;
  // Logs agree on every column but wall time.
  EXPECT_EQ(pstest::log_without_seconds(a.out_dir + "/train_log.csv"), pstest::log_without_seconds(b.out_dir + "/train_log.csv"));
  // A rerun with other settings refuses to mix runs; a rerun of a finished run does nothing.
  auto c = b;
  c.lr = 1e-3;
  EXPECT_THROW(train_lm(c, corpus().train, corpus().valid), ps::InputError);
  const auto again = train_lm(b, corpus().train, corpus().valid);
  EXPECT_TRUE(again.complete);
  EXPECT_EQ(again.start_step, 12);
  EXPECT_DOUBLE_EQ(again.valid_loss, resumed.valid_loss);
}

// The first row of valid_log.csv after the header: step 0's validation loss.
double first_valid_loss(const std::string& dir) {
  std::ifstream log(dir + "/valid_log.csv");
  std::string line;
  std::getline(log, line);
  std::getline(log, line);
  std::stringstream row(line);
  std::string step, tokens, loss;
  std::getline(row, step, ','), std::getline(row, tokens, ','), std::getline(row, loss, ',');
  EXPECT_EQ(step, "0") << line;
  return std::stod(loss);
}

TEST(TrainLm, InitFromContinuesTheModelUnderANewSchedule) {
  auto a = tiny("llama", pstest::temp_dir("init_a"));
  a.steps = 8, a.eval_every = 4;
  a.eval_tokens = 1 << 20;  // every evaluation on the whole validation split, so step 0 of b can equal a's end
  const auto ra = train_lm(a, corpus().train, corpus().valid);
  auto b = a;
  b.out_dir = pstest::temp_dir("init_b");
  b.init_from = ra.last_checkpoint, b.steps = 4, b.lr = 5e-4, b.warmup = 0;
  const auto rb = train_lm(b, corpus().train, corpus().valid);
  ASSERT_TRUE(rb.complete);
  // Step 0 of the continuation scores validation exactly as the model it starts from ended.
  EXPECT_NEAR(first_valid_loss(b.out_dir), ra.valid_loss, 1e-5);
  EXPECT_LT(first_valid_loss(b.out_dir), first_valid_loss(a.out_dir) - 0.3);  // not a fresh init
  // Another shape is refused in one line naming the option.
  auto c = b;
  c.out_dir = pstest::temp_dir("init_c");
  c.shape.d_model *= 2;
  try {
    train_lm(c, corpus().train, corpus().valid);
    ADD_FAILURE() << "no error";
  } catch (const ps::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--init-from"), std::string::npos) << e.what();
  }
}

}  // namespace
