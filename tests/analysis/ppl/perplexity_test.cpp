// eval ppl: NLL against an independent log_softmax of Transformer::forward logits, buckets that add up,
// exact resume after a stop, several settings in one output, and one-line errors for bad input.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "analysis/ppl/perplexity.h"
#include "models/tokenizer/tokenizer.h"
#include "models/transformer/transformer.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "tests/data/extract/extract_fixture.h"
#include "tests/models/transformer/tiny_models.h"

namespace {

namespace fs = std::filesystem;
namespace fx = ps::extract::testing;

struct Setup {
  std::string dir, model, corpus;
};

const Setup& setup() {
  static const Setup s = [] {
    Setup x;
    x.dir = fx::temp_dir("ppl");
    x.model = fx::tiny_model_dir();
    x.corpus = fx::write_corpus(x.dir, 120);  // every 10th function is in the test split
    return x;
  }();
  return s;
}

ps::ppl::PplOptions options(const std::string& out) {
  ps::ppl::PplOptions o;
  o.model_dir = setup().model;
  o.corpus = setup().corpus;
  o.context = 48;
  o.by_position = "16";
  o.engine.dtype = "float32";
  o.engine.threads = 1;
  o.engine.token_budget = 96;  // two documents per batch
  o.separator = "<|endoftext|>";  // the tiny config's eos_token_id 0 is a byte here
  o.out_dir = out;
  return o;
}

TEST(Perplexity, MatchesLogSoftmaxOfForwardLogits) {
  const auto o = options(fx::temp_dir("out"));
  const auto r = ps::ppl::evaluate_perplexity(o);
  ASSERT_TRUE(r.complete());
  ASSERT_GE(r.documents_total, 3);

  const auto tk = ps::tok::Tokenizer::from_file(o.model_dir + "/tokenizer.json");
  const int32_t sep = tk.token_to_id("<|endoftext|>");
  const auto docs = ps::ppl::held_out_documents(o, tk, sep, o.context);
  ASSERT_EQ(int64_t(docs.size()), r.documents_total);
  const auto model = ps::models::Transformer::load(o.model_dir);
  std::vector<double> sums(3, 0.0);
  double total = 0;
  for (const auto& d : docs) {
    ASSERT_EQ(int64_t(d.size()), o.context);
    std::vector<int64_t> ids(d.begin(), d.end());
    ps::models::ForwardInput in;
    in.input_ids = at::tensor(ids, at::kLong).unsqueeze(0);
    ps::models::Capture c;
    c.logits = true;
    const auto lp = at::log_softmax(model->forward(in, c).logits[0].to(at::kDouble), 1);
    for (int64_t p = 1; p < o.context; ++p) {
      const double nll = -lp[p - 1][ids[size_t(p)]].item<double>();
      sums[size_t(p / 16)] += nll;
      total += nll;
    }
  }
  ASSERT_EQ(r.buckets.size(), 3u);
  for (size_t b = 0; b < 3; ++b) {
    EXPECT_EQ(r.buckets[b].start, int64_t(16 * b));
    EXPECT_EQ(r.buckets[b].tokens, r.documents_total * (b == 0 ? 15 : 16));
    EXPECT_NEAR(r.buckets[b].nll, sums[b], 1e-5 * std::abs(sums[b])) << b;
  }
  EXPECT_EQ(r.overall.tokens, r.documents_total * (o.context - 1));
  EXPECT_NEAR(r.overall.nll, total, 1e-5 * total);
  // Buckets covering [0, context) add up to the overall figures.
  double bucket_nll = 0;
  int64_t bucket_tokens = 0;
  for (const auto& b : r.buckets) bucket_nll += b.nll, bucket_tokens += b.tokens;
  EXPECT_EQ(bucket_tokens, r.overall.tokens);
  EXPECT_NEAR(bucket_nll, r.overall.nll, 1e-9 * r.overall.nll);

  // next_token_nll itself, on one sequence.
  const auto one = ps::ppl::next_token_nll(at::log_softmax(at::eye(3), 1), {0, 1, 2});
  ASSERT_EQ(one.size(), 2u);
  EXPECT_NEAR(one[0], -(0.0 - std::log(std::exp(1.0) + 2.0)), 1e-12);

  // The files: ppl.csv in plot lines' shape, summary.json with the overall figure.
  const std::string csv = ps::read_file(o.out_dir + "/ppl.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "setting,bucket_start,bucket_end,tokens,nll,ppl");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);
  const auto summary = nlohmann::json::parse(ps::read_file(o.out_dir + "/summary.json"));
  EXPECT_NEAR(summary["settings"][r.setting]["ppl"].get<double>(), r.overall.ppl(), 1e-9 * r.overall.ppl());
  EXPECT_TRUE(summary["settings"][r.setting]["complete"].get<bool>());
}

TEST(Perplexity, DocumentsJoinHeldOutFunctionsWithSeparators) {
  auto o = options("");
  const auto tk = ps::tok::Tokenizer::from_file(o.model_dir + "/tokenizer.json");
  const int32_t sep = tk.token_to_id("<|endoftext|>");
  const auto a = ps::ppl::held_out_documents(o, tk, sep, 48);
  o.seed = 1;
  const auto b = ps::ppl::held_out_documents(o, tk, sep, 48);
  EXPECT_EQ(a.size(), b.size());
  EXPECT_NE(a, b);  // the seed orders the functions
  int64_t seps = 0;
  for (const auto& d : a) seps += std::count(d.begin(), d.end(), sep);
  EXPECT_GE(seps, int64_t(a.size()) / 2);
  o.documents = 2;
  EXPECT_EQ(ps::ppl::held_out_documents(o, tk, sep, 48).size(), 2u);
}

TEST(Perplexity, ResumeAfterAStopGivesTheSameFiles) {
  const auto whole = options(fx::temp_dir("whole"));
  ps::ppl::evaluate_perplexity(whole);
  auto part = options(fx::temp_dir("part"));
  part.stop_after = 1;  // one batch (two documents), as a killed run leaves it
  const auto first = ps::ppl::evaluate_perplexity(part);
  EXPECT_FALSE(first.complete());
  EXPECT_EQ(first.documents_done, 2);
  EXPECT_FALSE(nlohmann::json::parse(ps::read_file(part.out_dir + "/summary.json"))["settings"][first.setting]["complete"]);
  part.stop_after = 0;
  part.engine.token_budget = 4096;  // ignored on resume: the batches stay as they were
  const auto rest = ps::ppl::evaluate_perplexity(part);
  EXPECT_TRUE(rest.complete());
  EXPECT_EQ(ps::read_file(part.out_dir + "/ppl.csv"), ps::read_file(whole.out_dir + "/ppl.csv"));
  const auto sw = nlohmann::json::parse(ps::read_file(whole.out_dir + "/summary.json"))["settings"];
  const auto sp = nlohmann::json::parse(ps::read_file(part.out_dir + "/summary.json"))["settings"];
  EXPECT_EQ(sw.begin().value()["nll"], sp.begin().value()["nll"]);
}

TEST(Perplexity, SettingsShareAnOutputAndChangesAreRefused) {
  auto o = options(fx::temp_dir("settings"));
  o.setting = "vanilla";
  const auto a = ps::ppl::evaluate_perplexity(o);
  o.setting = "window";
  o.engine.mask = "window:8";
  const auto b = ps::ppl::evaluate_perplexity(o);
  EXPECT_NE(a.overall.nll, b.overall.nll);
  // The first bucket's early positions see fewer than 8 keys either way, so only later buckets move.
  const std::string csv = ps::read_file(o.out_dir + "/ppl.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 7);
  EXPECT_NE(csv.find("\nwindow,32,48,"), std::string::npos);
  EXPECT_NE(csv.find("\nvanilla,0,16,"), std::string::npos);

  o.setting = "vanilla";  // same name, other mask
  try {
    ps::ppl::evaluate_perplexity(o);
    ADD_FAILURE();
  } catch (const ps::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("mask"), std::string::npos) << e.what();
  }
  o.engine.mask = "default";
  o.context = 32;  // other documents in the same output
  try {
    ps::ppl::evaluate_perplexity(o);
    ADD_FAILURE();
  } catch (const ps::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("context"), std::string::npos) << e.what();
  }
}

TEST(Perplexity, BadInputIsOneLineError) {
  auto expect_error = [](const ps::ppl::PplOptions& o, const std::string& part) {
    try {
      ps::ppl::evaluate_perplexity(o);
      ADD_FAILURE() << "no error; expected " << part;
    } catch (const ps::InputError& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  };
  auto o = options(fx::temp_dir("bad"));
  o.corpus = o.out_dir + "/missing.jsonl";
  expect_error(o, "missing.jsonl");
  o = options(fx::temp_dir("bad2"));
  o.split = "valid";
  expect_error(o, "no functions with split 'valid'");
  o = options(fx::temp_dir("bad3"));
  o.context = 1;
  expect_error(o, "--context 1");
  o.context = 100000;
  o.by_position = "";
  expect_error(o, "fewer than one document");
  o.context = 48;
  o.by_position = "0,32,16";
  expect_error(o, "--by-position");
  o.by_position = "0,64";
  expect_error(o, "beyond --context");

  // A masked-LM encoder with a tokenizer that fits it.
  const std::string mlm = fx::temp_dir("mlm");
  ps::test::TinyDims dims;
  dims.vocab = 272;
  dims.positions = 64;
  ps::test::write_model(mlm, ps::test::tiny_spec(ps::test::Tiny::RoBERTa, 1, dims));
  fs::copy_file(setup().model + "/tokenizer.json", mlm + "/tokenizer.json");
  o = options(fx::temp_dir("bad4"));
  o.model_dir = mlm;
  expect_error(o, "masked-LM");
}

}  // namespace

namespace {

// RoPE scaling (LoadOptions::rope_scaling) on a LLaMA-family model: applied, named and recorded per setting.
TEST(Perplexity, RopeScalingIsASetting) {
  const std::string llama = fx::temp_dir("llama");
  ps::test::TinyDims dims;
  dims.vocab = 272;
  dims.positions = 32;
  ps::test::write_model(llama, ps::test::tiny_spec(ps::test::Tiny::LLaMA, 1, dims));
  fs::copy_file(setup().model + "/tokenizer.json", llama + "/tokenizer.json");
  auto o = options(fx::temp_dir("rope"));
  o.model_dir = llama;
  o.context = 32;
  const auto vanilla = ps::ppl::evaluate_perplexity(o);
  o.engine.rope_scaling = "linear:2";
  const auto scaled = ps::ppl::evaluate_perplexity(o);
  EXPECT_NE(vanilla.setting, scaled.setting);
  EXPECT_NE(scaled.setting.find("rope=linear:2"), std::string::npos) << scaled.setting;
  EXPECT_NE(vanilla.overall.nll, scaled.overall.nll);
  EXPECT_EQ(vanilla.overall.tokens, scaled.overall.tokens);
  const auto summary = nlohmann::json::parse(ps::read_file(o.out_dir + "/summary.json"));
  EXPECT_EQ(summary["settings"][scaled.setting]["params"]["rope_scaling"], "linear:2");
}

}  // namespace

namespace {

// Capture::logits through the Engine: each sequence's [len, V] slice, equal to a lone forward, in every packing.
TEST(Perplexity, EngineReturnsEachSequencesLogits) {
  const auto model = ps::models::Transformer::load(setup().model);
  std::vector<std::vector<int32_t>> seqs = {{5, 9, 200, 31, 7}, {44, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
  ps::models::Capture c;
  c.logits = true;
  for (auto pk : {ps::models::Packing::Prepacked, ps::models::Packing::Padded, ps::models::Packing::SortedPadded}) {
    ps::models::EngineOptions eo;
    eo.threads = 1;
    eo.packing = pk;
    const auto got = ps::models::Engine(model, eo).run(seqs, c);
    for (size_t k = 0; k < seqs.size(); ++k) {
      ps::models::ForwardInput in;
      in.input_ids = at::tensor(std::vector<int64_t>(seqs[k].begin(), seqs[k].end()), at::kLong).unsqueeze(0);
      const auto ref = model->forward(in, c).logits[0];
      const auto& l = got[k].hooks.at("logits");
      ASSERT_EQ(l.sizes(), ref.sizes());
      EXPECT_TRUE(at::allclose(l, ref, 1e-5, 1e-5)) << int(pk) << " " << k;
    }
  }
}

}  // namespace
