// The extraction pipeline against an independent per-snippet computation, across packing modes, skips,
// cancellation + resume, settings changes, and shards + merge.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "data/align/align.h"
#include "data/align/boundary.h"
#include "data/extract/extract.h"
#include "data/extract/prepare.h"
#include "data/store/manifest_fields.h"
#include "data/store/merge.h"
#include "data/store/reader.h"
#include "data/syntax/labelled_tree.h"
#include "data/syntax/parse.h"
#include "data/syntax/structural.h"
#include "models/open/open_model.h"
#include "models/transformer/transformer.h"
#include "models/util/error.h"
#include "tests/data/extract/extract_fixture.h"

namespace ps::extract {
namespace {

using namespace ps::extract::testing;

class Extract : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { model_ = new std::string(tiny_model_dir()); }
  static std::string* model_;
  std::string dir_ = temp_dir("t");
};
std::string* Extract::model_ = nullptr;

float max_diff(const float* a, const float* b, int64_t n) {
  float m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

TEST_F(Extract, MatchesPerSnippetForwardPoolingAndParse) {
  const auto corpus = write_corpus(dir_, 12);
  auto o = tiny_options(*model_, corpus, dir_ + "/s.h5");
  o.token_layers = "all";
  o.attention_layers = "2";
  const auto sum = extract(o);
  ASSERT_TRUE(sum.complete);
  EXPECT_EQ(sum.snippets, 12);

  store::StoreReader r(o.out);
  ASSERT_EQ(r.num_samples(), 12);
  EXPECT_EQ(r.layers(store::Rows::words), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(r.manifest().at("model_label"), std::filesystem::path(*model_).filename().string());
  // A byte-level BPE tokenizer: boundary alignment by default; GPT-2's layer 2 is ln_f's output.
  EXPECT_EQ(r.manifest().at("align"), "boundary");
  EXPECT_EQ(r.layer_label(2), "2 (ln_f)");
  EXPECT_EQ(r.layer_label(1), "1");
  EXPECT_EQ(store::raw_last_block_act(r.manifest()), "words/blocks.1.hook_resid_post");
  ASSERT_TRUE(r.has_act("words/blocks.1.hook_resid_post"));
  const auto model = models::Transformer::load(*model_);
  const auto tk = tok::Tokenizer::from_file(*model_ + "/tokenizer.json");
  const auto json = align::read_tokenizer_json(*model_ + "/tokenizer.json");
  const auto cont = align::continuation_tokenizer(json, "tiny");
  for (int64_t i = 0; i < r.num_samples(); ++i) {
    // Rebuild the snippet independently: parse the original source again.
    std::string src;
    {
      std::ifstream in(corpus);
      std::string line;
      for (int64_t k = 0; k <= i; ++k) std::getline(in, line);
      src = nlohmann::json::parse(line)["code"].get<std::string>();
    }
    const auto parsed = syntax::try_parse(src, syntax::Language::Python);
    ASSERT_TRUE(parsed.ok());
    std::vector<align::Span> words;
    for (const auto& t : syntax::code_tokens(parsed.tree, parsed.code)) words.emplace_back(t.start_byte, t.end_byte);
    const auto a = align::align_boundary(tk, cont, parsed.code, words);
    ASSERT_EQ(r.tokens(i).input_ids, std::vector<int32_t>(a.encoding.ids.begin(), a.encoding.ids.end()));

    // One sequence alone, no packing, no padding.
    models::ForwardInput in;
    in.input_ids = at::tensor(std::vector<int64_t>(a.encoding.ids.begin(), a.encoding.ids.end())).unsqueeze(0);
    models::Capture cap;
    for (int l = 0; l <= 2; ++l) cap.hooks.insert("hidden_states." + std::to_string(l));
    cap.hooks.insert("blocks.1.attn.hook_pattern");
    cap.hooks.insert("blocks.1.hook_resid_post");
    const auto out = model->forward(in, cap);
    const int64_t n = a.n_subwords(), W = a.n_words();
    for (int l = 0; l <= 2; ++l) {
      const auto h = out.hooks.at("hidden_states." + std::to_string(l))[0].contiguous();
      const auto pooled = align::pool(a, std::vector<float>(h.data_ptr<float>(), h.data_ptr<float>() + h.numel()), 32);
      const auto got = r.acts(store::act_name(store::Rows::words, l), i);
      ASSERT_EQ(got.rows, W);
      EXPECT_LT(max_diff(got.data.data(), pooled.data(), W * 32), 1e-4) << "snippet " << i << " layer " << l;
      const auto tokens = r.acts(store::act_name(store::Rows::tokens, l), i);
      ASSERT_EQ(tokens.rows, n);
      EXPECT_LT(max_diff(tokens.data.data(), h.data_ptr<float>(), n * 32), 1e-4);
    }
    {
      // The raw last block output, without ln_f: pooled like the layers, and not equal to layer 2.
      const auto h = out.hooks.at("blocks.1.hook_resid_post")[0].contiguous();
      const auto pooled = align::pool(a, std::vector<float>(h.data_ptr<float>(), h.data_ptr<float>() + h.numel()), 32);
      const auto got = r.acts("words/blocks.1.hook_resid_post", i);
      ASSERT_EQ(got.rows, a.n_words());
      EXPECT_LT(max_diff(got.data.data(), pooled.data(), a.n_words() * 32), 1e-4) << "snippet " << i;
      EXPECT_GT(max_diff(got.data.data(), r.acts(store::act_name(store::Rows::words, 2), i).data.data(), a.n_words() * 32), 0.1);
    }
    const auto pat = out.hooks.at("blocks.1.attn.hook_pattern")[0].contiguous();
    const auto stored = r.table(store::attn_table(2), "pattern", i).to_floats();
    ASSERT_EQ(int64_t(stored.size()), pat.numel());
    EXPECT_LT(max_diff(stored.data(), pat.data_ptr<float>(), pat.numel()), 1e-5);

    // Labels and structural targets.
    const auto dcu = syntax::ast_to_dcu(parsed.tree);
    const auto syn = r.syntax(i);
    ASSERT_EQ(syn.d, std::vector<int32_t>(dcu.d.begin(), dcu.d.end()));
    for (size_t k = 0; k < dcu.c.size(); ++k) EXPECT_EQ(r.c_vocab().at(syn.c[k]), dcu.c[k]);
    for (size_t k = 0; k < dcu.u.size(); ++k) EXPECT_EQ(r.u_vocab().at(syn.u[k]), dcu.u[k]);
    const auto depths = syntax::token_depths(syntax::structural_targets(syntax::to_labelled(parsed.tree)));
    const auto stored_depths = r.table("structural", "depth", i).to_ints();
    EXPECT_EQ(stored_depths, std::vector<int64_t>(depths.begin(), depths.end()));
  }
}

TEST_F(Extract, PackingModesGiveTheSameStore) {
  const auto corpus = write_corpus(dir_, 30);
  std::vector<std::string> paths;
  for (const char* packing : {"prepacked", "padded", "sorted"}) {
    auto o = tiny_options(*model_, corpus, dir_ + "/" + packing + ".h5");
    o.engine.packing = models::packing_from_name(packing);
    const auto sum = extract(o);
    EXPECT_LE(sum.slots, sum.padded_slots);
    if (std::string(packing) == "padded") {
      EXPECT_EQ(sum.slots, sum.padded_slots);
    }
    paths.push_back(o.out);
  }
  store::StoreReader a(paths[0]), b(paths[1]), c(paths[2]);
  for (int l = 0; l <= 2; ++l) {
    const auto name = store::act_name(store::Rows::words, l);
    const auto ma = a.load_act(name), mb = b.load_act(name), mc = c.load_act(name);
    ASSERT_EQ(ma.data.size(), mb.data.size());
    EXPECT_LT(max_diff(ma.data.data(), mb.data.data(), int64_t(ma.data.size())), 1e-4);
    EXPECT_LT(max_diff(ma.data.data(), mc.data.data(), int64_t(ma.data.size())), 1e-4);
  }
}

TEST_F(Extract, LimitPerSplitCapsEachSplitInCorpusOrder) {
  const auto corpus = write_corpus(dir_, 40);  // every 10th record is a test function, the rest train
  auto o = tiny_options(*model_, corpus, dir_ + "/caps.h5");
  o.limit_per_split = "train=5,test=2";
  auto sum = extract(o, nullptr, {});
  EXPECT_EQ(sum.snippets, 7);
  EXPECT_EQ(sum.skipped[int(Skip::split_full)], 33);
  EXPECT_NE(sum.format().find("split_full 33"), std::string::npos) << sum.format();
  // With --splits naming every kept split, reading stops once each is full: train at record 5, test at record 10.
  o.out = dir_ + "/stops.h5";
  o.splits = "train,test";
  sum = extract(o, nullptr, {});
  EXPECT_EQ(sum.snippets, 7);
  EXPECT_EQ(sum.records, 11);
  o.splits = "";
  o.out = dir_ + "/every.h5";
  o.limit_per_split = "3";  // every split
  sum = extract(o, nullptr, {});
  EXPECT_EQ(sum.snippets, 6);
  o.out = dir_ + "/bad.h5";
  o.limit_per_split = "train=-1";
  EXPECT_THROW(extract(o, nullptr, {}), ps::InputError);
  o.limit_per_split = "train=2,train=3";
  EXPECT_THROW(extract(o, nullptr, {}), ps::InputError);
  EXPECT_FALSE(std::filesystem::exists(o.out));  // a bad cap writes nothing
}

TEST_F(Extract, SkipsBadSnippetsAndCountsThem) {
  const auto corpus = write_corpus(dir_, 10, /*with_bad=*/true);
  std::vector<std::string> warnings;
  const auto sum = extract(tiny_options(*model_, corpus, dir_ + "/s.h5"), nullptr,
                           [&](const std::string& w) { warnings.push_back(w); });
  EXPECT_EQ(sum.snippets, 9);
  EXPECT_EQ(sum.skipped[int(Skip::parse_error)], 1);
  EXPECT_NE(sum.format().find("parse_error 1"), std::string::npos);
  ASSERT_FALSE(warnings.empty());
  EXPECT_NE(warnings[0].find("snip5"), std::string::npos) << warnings[0];
}

TEST_F(Extract, CancelledRunResumesToTheSameStore) {
  const auto corpus = write_corpus(dir_, 120);
  auto whole = tiny_options(*model_, corpus, dir_ + "/whole.h5");
  whole.group_tokens = 200;
  extract(whole);

  auto o = whole;
  o.out = dir_ + "/resumed.h5";
  Progress progress("test", 0, "snippets", /*to_stderr=*/false);
  std::atomic<bool> done{false};
  std::thread canceller([&] {
    while (!done && progress.done() < 15) std::this_thread::sleep_for(std::chrono::microseconds(200));
    progress.cancel();
  });
  const auto first = extract(o, &progress);
  done = true;
  canceller.join();
  EXPECT_FALSE(first.complete);
  EXPECT_GT(first.total_snippets, 0);
  EXPECT_LT(first.total_snippets, 120);
  EXPECT_FALSE(store::StoreReader(o.out).complete());

  const auto second = extract(o);
  EXPECT_TRUE(second.complete);
  EXPECT_EQ(second.resumed_from, first.total_snippets);
  EXPECT_EQ(second.total_snippets, 120);
  EXPECT_EQ(dump_store(o.out), dump_store(whole.out));
  // Done already: a third run is a no-op.
  EXPECT_TRUE(extract(o).already_complete);
}

TEST_F(Extract, DifferentSettingsAreRefusedNotAppended) {
  const auto corpus = write_corpus(dir_, 8);
  auto o = tiny_options(*model_, corpus, dir_ + "/s.h5");
  o.layers = "0,1";
  extract(o);
  o.layers = "0,2";
  try {
    extract(o);
    FAIL() << "a store from other settings was reused";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("s.h5"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("layers"), std::string::npos) << e.what();
  }
  o.overwrite = true;
  EXPECT_TRUE(extract(o).complete);
  EXPECT_EQ(store::StoreReader(o.out).layers(store::Rows::words), (std::vector<int>{0, 2}));
}

TEST_F(Extract, ShardsMergeToTheWholeStore) {
  const auto corpus = write_corpus(dir_, 25, /*with_bad=*/true);
  auto whole = tiny_options(*model_, corpus, dir_ + "/whole.h5");
  extract(whole);
  std::vector<std::string> shards;
  for (int i = 0; i < 3; ++i) {
    auto o = whole;
    o.out = dir_ + "/shard" + std::to_string(i) + ".h5";
    o.shard_index = i, o.shard_count = 3;
    extract(o);
    shards.push_back(o.out);
  }
  store::merge_stores(dir_ + "/merged.h5", shards);
  // Same snippets, tokens, labels and tables; the vectors agree to float rounding (the shards' forwards pack
  // different neighbours into each row, which changes summation order, not results).
  EXPECT_EQ(dump_store(dir_ + "/merged.h5", true, false), dump_store(whole.out, true, false));
  EXPECT_LT(max_act_diff(dir_ + "/merged.h5", whole.out), 1e-4);
  EXPECT_EQ(store::StoreReader(dir_ + "/merged.h5").manifest().at("merged_shards"), "3");
}

TEST_F(Extract, BadInputsGiveOneLineErrorsNamingTheFile) {
  const auto corpus = write_corpus(dir_, 3);
  auto o = tiny_options(*model_, corpus, dir_ + "/s.h5");
  o.layers = "7";
  EXPECT_THROW(
      try { extract(o); } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("--layers: layer 7"), std::string::npos) << e.what();
        throw;
      },
      InputError);
  o = tiny_options(*model_, dir_ + "/missing.jsonl", dir_ + "/s.h5");
  EXPECT_THROW(extract(o), InputError);
  o = tiny_options(dir_, corpus, dir_ + "/s.h5");
  EXPECT_THROW(extract(o), InputError);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/s.h5"));
}


// A shared Engine (the GUI's) brings its device and dtype, but the budget is this call's own: a GUI job's
// budget reaches the forwards instead of being replaced by the engine's.
TEST_F(Extract, SharedEngineRunsWithTheCallersTokenBudget) {
  const auto corpus = write_corpus(dir_, 8);
  models::RunOptions engine_run;
  engine_run.token_budget = 8192;
  const auto engine = models::open_model(models::ModelSource::directory(*model_), {}, engine_run).engine;
  auto run = [&](int64_t budget, const std::string& name) {
    auto o = tiny_options(*model_, corpus, dir_ + "/" + name + ".h5");
    o.shared_engine = engine;
    o.engine.token_budget = budget;
    o.group_tokens = 4096;  // the same groups either way; only the forwards' size differs
    return extract(o);
  };
  const auto wide = run(8192, "wide"), narrow = run(64, "narrow");
  EXPECT_EQ(narrow.total_snippets, 8);
  EXPECT_GT(narrow.forwards, wide.forwards);
  EXPECT_EQ(store::StoreReader(dir_ + "/narrow.h5").manifest().at("token_budget"), "64");
  EXPECT_EQ(dump_store(dir_ + "/wide.h5", false, false), dump_store(dir_ + "/narrow.h5", false, false));
}

// A corpus whose only record is over a limit is readable: the error says it was skipped, and by which limit.
TEST_F(Extract, EveryRecordSkippedSaysWhichLimitSkippedThem) {
  const std::string code = "def f():\n    return " + std::string(100000, '(') + std::string(100000, ')') + "\n";
  const std::string corpus = dir_ + "/long.jsonl";
  std::ofstream(corpus) << nlohmann::json{{"code", code}, {"language", "python"}}.dump() << "\n";
  for (const std::string language : {"auto", "python"}) {
    auto o = tiny_options(*model_, corpus, dir_ + "/s_" + language + ".h5");
    o.language = language;
    try {
      extract(o);
      FAIL() << "an all-skipped corpus gave a store";
    } catch (const InputError& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("every record was skipped"), std::string::npos) << m;
      EXPECT_NE(m.find("long_line"), std::string::npos) << m;
      EXPECT_EQ(m.find("no readable record"), std::string::npos) << m;
      EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    }
  }
}

// Encoder-only randomisation (the AST-Probe reference's baseline) keeps the checkpoint's embeddings exactly and
// draws every block as full randomisation does; the store's layer 0 then equals the trained model's layer 0.
TEST_F(Extract, RandomEncoderKeepsTheTrainedEmbeddingsOnly) {
  const auto trained = models::Transformer::load(*model_);
  auto src = models::ModelSource::random(*model_, 7);
  const auto full = models::open_model(src).engine->model_ptr();
  src.keep_embeddings = true;
  const auto opened = models::open_model(src);
  EXPECT_EQ(opened.label, std::filesystem::path(*model_).filename().string() + "-random-encoder");
  const auto& enc = opened.engine->model().parameters();
  for (const auto& [key, t] : enc) {
    const bool embedding = key.rfind("embed.", 0) == 0;
    EXPECT_EQ(at::equal(t, trained->parameters().at(key)), embedding) << key;
    EXPECT_EQ(at::equal(t, full->parameters().at(key)), !embedding) << key;
  }
  auto no_dir = models::ModelSource::named_preset("gpt2-small", 1);
  no_dir.keep_embeddings = true;
  EXPECT_THROW(models::open_model(no_dir), InputError);

  const auto corpus = write_corpus(dir_, 4);
  auto o = tiny_options(*model_, corpus, dir_ + "/enc.h5");
  o.random_weights = 7;
  o.random_keep_embeddings = true;
  ASSERT_TRUE(extract(o).complete);
  auto t = tiny_options(*model_, corpus, dir_ + "/trained.h5");
  ASSERT_TRUE(extract(t).complete);
  store::StoreReader re(o.out), rt(t.out);
  EXPECT_EQ(re.manifest().at("weights"), "random-encoder:7");
  EXPECT_EQ(re.load_layer_words(0).data, rt.load_layer_words(0).data);
  EXPECT_NE(re.load_layer_words(1).data, rt.load_layer_words(1).data);
}

// --dtype auto is a timing measurement: rerunning it on an existing store keeps the store's dtype (one of these two
// stores disagrees with whatever auto resolves to here, and neither rerun may be refused as a changed setting).
TEST_F(Extract, AutoDtypeResumesWithTheStoresOwnDtype) {
  const auto corpus = write_corpus(dir_, 3);
  for (const std::string dtype : {"float32", "bfloat16"}) {
    auto o = tiny_options(*model_, corpus, dir_ + "/" + dtype + ".h5");
    o.engine.dtype = dtype;
    ASSERT_TRUE(extract(o).complete);
    o.engine.dtype = "auto";
    const auto again = extract(o);
    EXPECT_TRUE(again.already_complete) << dtype;
    EXPECT_EQ(store::StoreReader(o.out).manifest().at("dtype"), dtype);
  }
}

}  // namespace
}  // namespace ps::extract
