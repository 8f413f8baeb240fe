// eval pppl: each scored token's NLL against an independent Transformer::forward of its masked copy, special
// tokens never scored and kept when a function is cut, exact resume after a stop, and one-line refusals.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "analysis/ppl/pseudo_perplexity.h"
#include "models/open/open_model.h"
#include "models/tokenizer/tokenizer.h"
#include "models/transformer/transformer.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "tests/data/extract/extract_fixture.h"
#include "tests/models/transformer/tiny_models.h"

namespace {

namespace fs = std::filesystem;
namespace fx = ps::extract::testing;

constexpr int32_t kBos = fx::kRobertaBos, kEos = fx::kRobertaEos, kMask = fx::kRobertaMask;


struct Setup {
  std::string encoder, decoder, corpus;
};

const Setup& setup() {
  static const Setup s = [] {
    Setup x;
    const std::string dir = fx::temp_dir("pppl");
    x.decoder = fx::tiny_model_dir();
    x.corpus = fx::write_corpus(dir, 60);  // every 10th function is in the test split: 6 functions
    x.encoder = dir + "/encoder";
    ps::test::TinyDims dims;
    dims.vocab = 280;
    dims.positions = 64;
    ps::test::write_model(x.encoder, ps::test::tiny_spec(ps::test::Tiny::RoBERTa, 3, dims));
    ps::write_file_atomic(x.encoder + "/tokenizer.json", fx::roberta_tokenizer_json());
    return x;
  }();
  return s;
}

ps::ppl::PseudoPplOptions options(const std::string& out) {
  ps::ppl::PseudoPplOptions o;
  o.model_dir = setup().encoder;
  o.corpus = setup().corpus;
  o.context = 40;  // the fixture's functions are longer: every one is cut
  o.functions = 4;
  o.engine.dtype = "float32";
  o.engine.threads = 1;
  o.engine.token_budget = 200;  // several masked copies per forward, never all of them
  o.out_dir = out;
  return o;
}

TEST(PseudoPerplexity, EachTokenScoredFromItsOwnMaskedCopy) {
  const auto o = options(fx::temp_dir("out"));
  const auto r = ps::ppl::evaluate_pseudo_perplexity(o);
  ASSERT_TRUE(r.complete());
  ASSERT_EQ(r.functions_total, 4);
  EXPECT_EQ(r.tokens, 4 * (o.context - 2));  // <s> and the kept </s> are never scored

  const auto tk = ps::tok::Tokenizer::from_file(o.model_dir + "/tokenizer.json");
  const auto model = ps::models::Transformer::load(o.model_dir);
  // The same seeded order the evaluator uses: recompute the first function independently.
  ps::models::EngineOptions eo = o.engine;
  auto opened = ps::models::open_model(ps::models::ModelSource::directory(o.model_dir), eo, eo);
  const std::vector<int32_t> ids = [&] {
    auto enc = tk.encode("def f0(self, x, y=0):\n    return x\n");
    return enc.ids;
  }();
  ASSERT_EQ(ids.front(), kBos);
  ASSERT_EQ(ids.back(), kEos);
  std::vector<uint8_t> scored(ids.size(), 1);
  scored.front() = scored.back() = 0;
  const auto nll = ps::ppl::masked_token_nll(*opened.engine, ids, scored, kMask);
  ASSERT_EQ(nll.size(), ids.size() - 2);
  for (size_t p = 1; p + 1 < ids.size(); ++p) {
    std::vector<int64_t> masked(ids.begin(), ids.end());
    masked[p] = kMask;
    ps::models::ForwardInput in;
    in.input_ids = at::tensor(masked, at::kLong).unsqueeze(0);
    ps::models::Capture c;
    c.logits = true;
    const auto lp = at::log_softmax(model->forward(in, c).logits[0][int64_t(p)].to(at::kDouble), 0);
    EXPECT_NEAR(nll[p - 1], -lp[ids[p]].item<double>(), 1e-5) << "position " << p;
  }

  const auto summary = nlohmann::json::parse(ps::read_file(o.out_dir + "/summary.json"));
  EXPECT_TRUE(summary["complete"].get<bool>());
  EXPECT_NEAR(summary["pppl"].get<double>(), std::exp(r.nll / double(r.tokens)), 1e-9);
  EXPECT_NEAR(r.pppl(), std::exp(r.nll / double(r.tokens)), 1e-12);
}

TEST(PseudoPerplexity, ResumesToTheSameSums) {
  const auto whole = ps::ppl::evaluate_pseudo_perplexity(options(fx::temp_dir("whole")));
  auto o = options(fx::temp_dir("parts"));
  o.stop_after = 1;
  const auto first = ps::ppl::evaluate_pseudo_perplexity(o);
  EXPECT_FALSE(first.complete());
  EXPECT_EQ(first.functions_done, 1);
  o.stop_after = 0;
  const auto rest = ps::ppl::evaluate_pseudo_perplexity(o);
  ASSERT_TRUE(rest.complete());
  EXPECT_EQ(rest.tokens, whole.tokens);
  EXPECT_DOUBLE_EQ(rest.nll, whole.nll);
}

void expect_error(const ps::ppl::PseudoPplOptions& o, const std::string& needle) {
  try {
    ps::ppl::evaluate_pseudo_perplexity(o);
    ADD_FAILURE() << "no error; expected one naming " << needle;
  } catch (const ps::InputError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

TEST(PseudoPerplexity, RefusesBadInput) {
  auto o = options(fx::temp_dir("bad"));
  o.model_dir = setup().decoder;
  expect_error(o, "causal");
  o = options(fx::temp_dir("bad2"));
  o.context = 65;
  expect_error(o, "--context");
  o.context = 2;
  expect_error(o, "--context");
  o = options(fx::temp_dir("bad3"));
  o.split = "nowhere";
  expect_error(o, "split 'nowhere'");
  o = options(fx::temp_dir("bad4"));
  o.mask_token = "<nope>";
  expect_error(o, "<nope>");
  o = options(fx::temp_dir("bad5"));
  ps::ppl::evaluate_pseudo_perplexity(o);
  o.context = 30;
  expect_error(o, "differs in context");
}

}  // namespace
