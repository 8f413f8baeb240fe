// extract --context-prefix: the prefix scheme's promises (exactly N tokens of other functions of the same split,
// never the function itself, ending with the separator, seeded) and the store's (N = 0 unchanged; N > 0 equals
// the model run directly on prefix + function, sliced and pooled; recorded, refused on resume, length-checked).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/align/align.h"
#include "data/align/boundary.h"
#include "data/extract/context_prefix.h"
#include "data/extract/extract.h"
#include "data/store/manifest_fields.h"
#include "data/store/reader.h"
#include "data/syntax/parse.h"
#include "models/config/rope_scaling.h"
#include "models/transformer/transformer.h"
#include "models/util/error.h"
#include "tests/data/extract/extract_fixture.h"
#include "tests/models/transformer/tiny_models.h"

namespace ps::extract {
namespace {

using namespace ps::extract::testing;

class ContextPrefixTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { model_ = new std::string(tiny_model_dir()); }
  static std::string* model_;
  std::string dir_ = temp_dir("cp");
  tok::Tokenizer tk_ = tok::Tokenizer::from_file(*model_ + "/tokenizer.json");
};
std::string* ContextPrefixTest::model_ = nullptr;

// The tiny GPT-2's config.json says eos_token_id 0.
constexpr int32_t kSep = 0;

store::Manifest settings_of(const std::string& store) {
  auto m = store::StoreReader(store).manifest();
  m.erase(store::key::created_at);
  return m;
}

TEST_F(ContextPrefixTest, ExactlyNTokensOfOtherFunctionsOfTheSameSplitEndingWithTheSeparator) {
  // 25 records: 0, 10, 20 are split "test", the rest "train".
  const auto corpus = write_corpus(dir_, 25);
  const int64_t N = 2000;  // longer than the two other test functions: the walk repeats them
  const ContextPrefix cp(corpus, "python", "", N, 7, kSep, tk_);
  for (int64_t rec : {0, 10, 20, 3, 17}) {
    const auto ids = cp.before(rec);
    ASSERT_EQ(int64_t(ids.size()), N);
    EXPECT_EQ(ids.back(), kSep) << "the function must start right after a separator";
    const std::string text = tk_.decode(ids);
    const bool test_split = rec % 10 == 0;
    for (int other = 0; other < 25; ++other) {
      const std::string header = "def f" + std::to_string(other) + "(";
      const bool found = text.find(header) != std::string::npos;
      if (other == rec) {
        EXPECT_FALSE(found) << "record " << rec << "'s prefix contains the function itself";
      }
      if ((other % 10 == 0) != test_split) {
        EXPECT_FALSE(found) << "record " << rec << " got " << header << " from the other split";
      }
    }
    if (test_split) {  // both other test functions appear (the walk covers them all)
      for (int other : {0, 10, 20}) {
        if (other != rec) {
          EXPECT_NE(text.find("def f" + std::to_string(other) + "("), std::string::npos) << rec;
        }
      }
    }
  }
  // Deterministic for a seed, and the seed changes the order.
  EXPECT_EQ(cp.before(3), ContextPrefix(corpus, "python", "", N, 7, kSep, tk_).before(3));
  const ContextPrefix short7(corpus, "python", "", 300, 7, kSep, tk_), short8(corpus, "python", "", 300, 8, kSep, tk_);
  int differ = 0;
  for (int64_t rec = 1; rec < 10; ++rec) differ += short7.before(rec) != short8.before(rec);
  EXPECT_GT(differ, 0);
  // The prefix's text is the other functions' raw code joined by the separator.
  const auto ids = short7.before(5);
  std::vector<int32_t> last_piece(std::find(ids.rbegin() + 1, ids.rend(), kSep).base(), ids.end() - 1);
  bool is_a_function = false;
  for (int other = 0; other < 25; ++other) {
    std::ifstream in(corpus);
    std::string line;
    for (int k = 0; k <= other; ++k) std::getline(in, line);
    const auto enc = tk_.encode(nlohmann::json::parse(line)["code"].get<std::string>(), false);
    is_a_function |= std::vector<int32_t>(enc.ids.begin(), enc.ids.end()) == last_piece;
  }
  EXPECT_TRUE(is_a_function) << "the tokens before the final separator are not one whole function";
  // --splits test: a lone function has no other text of its split.
  const auto lone = dir_ + "/lone";
  std::filesystem::create_directories(lone);
  const ContextPrefix alone(write_corpus(lone, 5), "python", "", 10, 0, kSep, tk_);
  EXPECT_THROW(alone.before(0), InputError);  // record 0 is the only "test" function
  EXPECT_EQ(alone.before(1).size(), 10u);
}

TEST_F(ContextPrefixTest, ZeroIsTheStoreWithoutTheOption) {
  const auto corpus = write_corpus(dir_, 12);
  auto o = tiny_options(*model_, corpus, dir_ + "/plain.h5");
  o.token_layers = "all";
  extract(o);
  auto z = o;
  z.out = dir_ + "/zero.h5";
  z.context_prefix = 0;
  z.context_prefix_seed = 99;  // no prefix: the seed changes nothing
  extract(z);
  EXPECT_EQ(dump_store(z.out), dump_store(o.out));
  auto mz = settings_of(z.out), mo = settings_of(o.out);
  EXPECT_EQ(mz, mo);
  EXPECT_EQ(mz.count("context_prefix"), 0u);
}

// The stored vectors equal the model run on prefix + function ids alone, sliced to the function and pooled.
// rope_scaling: applied to the reference model as the Engine's --rope-scaling would be.
void expect_matches_direct_forward(const std::string& model_dir, const std::string& corpus, const std::string& store,
                                   int64_t N, uint64_t seed, const std::string& mask_spec, int G, int L,
                                   int32_t sep = kSep, const std::string& rope_scaling = "") {
  auto model = models::Transformer::load(model_dir);
  if (!rope_scaling.empty()) {
    auto arch = model->arch();
    models::apply_rope_scaling(arch, models::parse_rope_scaling_spec(rope_scaling), "test");
    model = model->with_changes(arch, {});
  }
  const auto tk = tok::Tokenizer::from_file(model_dir + "/tokenizer.json");
  const auto json = align::read_tokenizer_json(model_dir + "/tokenizer.json");
  const auto cont = align::continuation_tokenizer(json, "tiny");
  const ContextPrefix cp(corpus, "python", "", N, seed, sep, tk);
  const int64_t d = model->arch().d_model;
  store::StoreReader r(store);
  ASSERT_GT(r.num_samples(), 3);
  EXPECT_EQ(r.manifest().at("context_prefix"), std::to_string(N));
  EXPECT_EQ(r.manifest().at("context_prefix_seed"), std::to_string(seed));
  EXPECT_EQ(r.manifest().at("context_prefix_scheme"), kContextPrefixScheme);
  EXPECT_EQ(r.manifest().at("mask"), mask_spec);
  for (int64_t i = 0; i < r.num_samples(); ++i) {
    const int64_t rec = r.table("snippet_meta", "source_index", i).to_ints().at(0);
    std::string src;
    {
      std::ifstream in(corpus);
      std::string line;
      for (int64_t k = 0; k <= rec; ++k) std::getline(in, line);
      src = nlohmann::json::parse(line)["code"].get<std::string>();
    }
    const auto parsed = syntax::try_parse(src, syntax::Language::Python);
    std::vector<align::Span> words;
    for (const auto& t : syntax::code_tokens(parsed.tree, parsed.code)) words.emplace_back(t.start_byte, t.end_byte);
    const auto a = align::align_boundary(tk, cont, parsed.code, words);
    // The stored ids are the function's alone; the alignment is the function's.
    ASSERT_EQ(r.tokens(i).input_ids, std::vector<int32_t>(a.encoding.ids.begin(), a.encoding.ids.end()));
    std::vector<int64_t> ids;
    for (int32_t t : cp.before(rec)) ids.push_back(t);
    ids.insert(ids.end(), a.encoding.ids.begin(), a.encoding.ids.end());
    const int64_t S = int64_t(ids.size()), n = a.n_subwords(), W = a.n_words();
    models::ForwardInput in;
    in.input_ids = at::tensor(ids).unsqueeze(0);
    if (L > 0) {  // the Λ mask written out densely: causal, and key j < G or i - j < L
      auto m = at::zeros({1, S, S}, at::kBool);
      auto acc = m.accessor<bool, 3>();
      for (int64_t q = 0; q < S; ++q)
        for (int64_t k = 0; k <= q; ++k) acc[0][q][k] = k < G || q - k < L;
      in.attn_mask = m;
    }
    models::Capture cap;
    for (int l = 0; l <= 2; ++l) cap.hooks.insert("hidden_states." + std::to_string(l));
    const auto out = model->forward(in, cap);
    for (int l = 0; l <= 2; ++l) {
      const auto h = out.hooks.at("hidden_states." + std::to_string(l))[0].slice(0, N, S).contiguous();
      const auto pooled = align::pool(a, std::vector<float>(h.data_ptr<float>(), h.data_ptr<float>() + h.numel()), d);
      const auto got = r.acts(store::act_name(store::Rows::words, l), i);
      ASSERT_EQ(got.rows, W);
      float worst = 0;
      for (int64_t k = 0; k < W * d; ++k) worst = std::max(worst, std::abs(got.data[k] - pooled[k]));
      EXPECT_LT(worst, 1e-4) << "snippet " << i << " layer " << l;
      const auto tokens = r.acts(store::act_name(store::Rows::tokens, l), i);
      ASSERT_EQ(tokens.rows, n);
    }
  }
}

TEST_F(ContextPrefixTest, StoredWordsEqualTheModelRunOnPrefixPlusFunction) {
  const auto corpus = write_corpus(dir_, 12);
  auto o = tiny_options(*model_, corpus, dir_ + "/p.h5");
  o.token_layers = "all";
  o.context_prefix = 48;
  o.context_prefix_seed = 3;
  o.engine.token_budget = 400;  // several forwards, several sequences packed in each
  const auto sum = extract(o);
  ASSERT_TRUE(sum.complete);
  EXPECT_EQ(sum.snippets, 12);
  expect_matches_direct_forward(*model_, corpus, o.out, 48, 3, "default", 0, 0);
  // The prefix matters: the same words without it are different vectors (learned positions shift layer 0 too).
  auto plain = o;
  plain.context_prefix = 0;
  plain.out = dir_ + "/plain.h5";
  extract(plain);
  EXPECT_GT(max_act_diff(o.out, plain.out), 0.05f);
  // With LM-Infinite's Λ mask (GPT-2: mask only), against the dense mask written out.
  auto lm = o;
  lm.out = dir_ + "/lm.h5";
  lm.engine.mask = "lm-infinite:4:32";
  extract(lm);
  expect_matches_direct_forward(*model_, corpus, lm.out, 48, 3, "lm-infinite:4:32", 4, 32);
  EXPECT_GT(max_act_diff(lm.out, o.out), 1e-3f);
}

TEST_F(ContextPrefixTest, RotaryModelUnderDynamicRopeScalingEqualsTheScaledModelOnPrefixPlusFunction) {
  // A tiny LLaMA (rotary, GQA) with the fixture's tokenizer; its config.json says eos_token_id 2. Dynamic NTK
  // depends on each sequence's own length, which here is N + len, not len: N = 300 puts every sequence past the
  // 256 trained positions, where dynamic:2 changes the frequencies (and raises the limit to 512).
  const std::string llama = dir_ + "/llama";
  ps::test::TinyDims dims;
  dims.vocab = 256 + 16;
  dims.positions = 256;
  ps::test::write_model(llama, ps::test::tiny_spec(ps::test::Tiny::LLaMA, 5, dims));
  std::filesystem::copy_file(*model_ + "/tokenizer.json", llama + "/tokenizer.json");
  const auto corpus = write_corpus(dir_, 12);
  auto o = tiny_options(llama, corpus, dir_ + "/llama.h5");
  o.token_layers = "all";
  o.context_prefix = 300;
  o.engine.rope_scaling = "dynamic:2";
  const auto sum = extract(o);
  ASSERT_TRUE(sum.complete);
  EXPECT_EQ(sum.snippets, 12);
  const auto m = store::StoreReader(o.out).manifest();
  EXPECT_EQ(m.at("context_prefix_separator"), "2");
  EXPECT_NE(m.at("rope_scaling").find("dynamic"), std::string::npos);
  expect_matches_direct_forward(llama, corpus, o.out, 300, 0, "default", 0, 0, 2, "dynamic:2");
  // Without the scaling a rotary model still runs past its trained length (only the function must fit it):
  // the vanilla model on the same inputs, and different numbers from the scaled one.
  auto vanilla = o;
  vanilla.out = dir_ + "/vanilla.h5";
  vanilla.engine.rope_scaling = "";
  EXPECT_EQ(extract(vanilla).snippets, 12);
  expect_matches_direct_forward(llama, corpus, vanilla.out, 300, 0, "default", 0, 0, 2, "");
  EXPECT_GT(max_act_diff(vanilla.out, o.out), 1e-3f);
}

TEST_F(ContextPrefixTest, ChangedPrefixIsRefusedOnResumeAndLongFunctionsAreSkippedNamingTheLimit) {
  const auto corpus = write_corpus(dir_, 16);
  auto o = tiny_options(*model_, corpus, dir_ + "/s.h5");
  o.context_prefix = 16;
  extract(o);
  EXPECT_EQ(store::StoreReader(o.out).manifest().at("context_prefix"), "16");
  for (int64_t other : {int64_t(32), int64_t(0)}) {
    auto changed = o;
    changed.context_prefix = other;
    try {
      extract(changed);
      FAIL() << "a store made with --context-prefix 16 was resumed with " << other;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("context_prefix"), std::string::npos) << e.what();
    }
  }
  auto seeded = o;
  seeded.context_prefix_seed = 1;
  EXPECT_THROW(extract(seeded), InputError);

  // The fixture GPT-2 has a 256-row position table: pick N so that some functions fit and some do not.
  std::vector<int64_t> lengths;
  {
    store::StoreReader r(o.out);
    for (int64_t i = 0; i < r.num_samples(); ++i) lengths.push_back(int64_t(r.tokens(i).input_ids.size()));
  }
  const auto [lo, hi] = std::minmax_element(lengths.begin(), lengths.end());
  ASSERT_LT(*lo, *hi);
  const int64_t N = 256 - (*lo + *hi) / 2;
  int64_t too_long = 0;
  for (int64_t n : lengths) too_long += n + N > 256;
  auto longer = o;
  longer.out = dir_ + "/long.h5";
  longer.context_prefix = N;
  std::vector<std::string> warnings;
  const auto sum = extract(longer, nullptr, [&](const std::string& m) { warnings.push_back(m); });
  EXPECT_EQ(sum.skipped[int(Skip::too_long)], too_long);
  EXPECT_EQ(sum.snippets, int64_t(lengths.size()) - too_long);
  ASSERT_FALSE(warnings.empty());
  const std::string want = "-token --context-prefix exceed the model's 256 positions";
  EXPECT_NE(warnings.front().find(std::to_string(N) + want), std::string::npos) << warnings.front();
}

TEST_F(ContextPrefixTest, BadSettingsAreOneLineErrors) {
  const auto corpus = write_corpus(dir_, 4);
  auto o = tiny_options(*model_, corpus, dir_ + "/s.h5");
  o.context_prefix = -1;
  EXPECT_THROW(extract(o), InputError);
  o.context_prefix = 8;
  o.attention_layers = "1";
  try {
    extract(o);
    FAIL() << "attention patterns were stored with a prefix";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--attention-layers"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(o.out));
}

TEST_F(ContextPrefixTest, CliTakesTheOptionWithAMask) {
  const auto corpus = write_corpus(dir_, 6);  // record 0 is the only "test" function: train ones only
  const std::string out = dir_ + "/cli.h5";
  const std::string cmd = probescope_path() + " extract --model " + *model_ + " --corpus " + corpus + " --out " + out +
                          " --threads 1 --splits train --context-prefix 48 --context-seed 2 --mask lm-infinite:4:32 > " + dir_ +
                          "/log 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << read_log(dir_ + "/log");
  const auto m = store::StoreReader(out).manifest();
  EXPECT_EQ(m.at("context_prefix"), "48");
  EXPECT_EQ(m.at("context_prefix_seed"), "2");
  EXPECT_EQ(m.at("mask"), "lm-infinite:4:32");
  EXPECT_EQ(store::StoreReader(out).num_samples(), 5);
  // Without --splits, the lone test function has no other text of its split: a one-line error naming it.
  const std::string lone = probescope_path() + " extract --model " + *model_ + " --corpus " + corpus + " --out " +
                           dir_ + "/lone.h5 --threads 1 --context-prefix 64 > " + dir_ + "/lone.log 2>&1";
  EXPECT_NE(std::system(lone.c_str()), 0);
  EXPECT_NE(read_log(dir_ + "/lone.log").find("split 'test'"), std::string::npos) << read_log(dir_ + "/lone.log");
}

}  // namespace
}  // namespace ps::extract
