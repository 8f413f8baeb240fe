// analysis/live against references: a store extracted from the same snippets by `extract` (tokens, words, gold
// d, pooled vectors, attention, a probe's d̂ through probes::predict_snippet), the full pattern for a band,
// planted attention for the AST-edge fraction.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>

#include "analysis/live/live.h"
#include "analysis/plot/attention.h"
#include "data/corpus/load.h"
#include "data/extract/extract.h"
#include "data/store/reader.h"
#include "models/transformer/engine.h"
#include "probes/ast_probe.h"
#include "probes/show.h"
#include "tests/data/extract/extract_fixture.h"

namespace ps::live {
namespace {

namespace fx = ps::extract::testing;

struct Fixture {
  std::string model, corpus, store;
  LiveModel live;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture x;
    const std::string dir = fx::temp_dir("live");
    x.model = fx::tiny_model_dir();
    x.corpus = fx::write_corpus(dir, 4);
    x.store = dir + "/tiny.h5";
    auto o = fx::tiny_options(x.model, x.corpus, x.store);
    o.layers = "all";
    o.attention_layers = "all";
    ps::extract::extract(o);
    models::LoadOptions lo;
    lo.threads = 1;
    x.live = open_live_model(x.model, lo);
    return x;
  }();
  return f;
}

LiveRequest request(const std::string& code) {
  LiveRequest r;
  r.code = code;
  r.language = syntax::Language::Python;
  return r;
}

probes::LabelVocab vocab_of(const std::vector<std::string>& labels) {
  probes::LabelVocab v;
  v.labels = labels;
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] == "<empty>") v.empty_id = int32_t(i);
  return v;
}

TEST(Live, MatchesTheStoreExtractedFromTheSameSnippet) {
  const auto& f = fixture();
  store::StoreReader r(f.store);
  for (int64_t i = 0; i < r.num_samples(); ++i) {
    const std::string code = corpus::find(f.corpus, r.id(i)).code;
    probes::SavedAstProbe probe;
    probe.layer = 2;
    probe.vocab.c = vocab_of(r.c_vocab()), probe.vocab.u = vocab_of(r.u_vocab());
    probe.model = probes::init_ast_probe(int(f.live.d_model), 4, int(r.c_vocab().size()), int(r.u_vocab().size()), 7, 0.5);
    auto req = request(code);
    req.probe = &probe;
    const LiveResult live = analyze(f.live, req);
    ASSERT_TRUE(live.ok()) << live.message;

    EXPECT_EQ(live.tokens.ids, r.tokens(i).input_ids);
    const auto words = r.words(i);
    ASSERT_EQ(live.tokens.word_spans.size(), words.spans.size());
    for (size_t w = 0; w < words.spans.size(); ++w) {
      EXPECT_EQ(live.tokens.word_spans[w].first, words.spans[w].begin);
      EXPECT_EQ(live.tokens.word_spans[w].second, words.spans[w].end);
      EXPECT_EQ(live.tokens.words[w], code.substr(size_t(words.spans[w].begin), size_t(words.spans[w].end - words.spans[w].begin)));
    }
    const auto gold = r.syntax(i);
    EXPECT_EQ(std::vector<int32_t>(live.gold.dcu.d.begin(), live.gold.dcu.d.end()), gold.d);

    ASSERT_EQ(int64_t(live.states.hidden.size()), f.live.layers + 1);
    for (int l = 0; l <= int(f.live.layers); ++l) {
      const auto m = r.acts(store::act_name(store::Rows::words, l), i);
      const auto v = word_vectors(live.states, live.tokens, l);
      ASSERT_EQ(v.rows, m.rows);
      ASSERT_EQ(v.cols, m.cols);
      for (size_t k = 0; k < v.data.size(); ++k) ASSERT_NEAR(v.data[k], m.data[k], 1e-4) << "layer " << l;
    }
    ASSERT_EQ(int64_t(live.states.patterns.size()), f.live.layers);
    for (const auto& p : live.states.patterns) {
      const auto ref = plot::load_attention(r, i, p.layer);
      ASSERT_EQ(ref.values.size(), p.values.size());
      for (size_t k = 0; k < p.values.size(); ++k) ASSERT_NEAR(p.values[k], ref.values[k], 1e-5);
    }
    // The probe on live vectors gives what `probe show` gives on the stored ones.
    const auto shown = probes::predict_snippet(r, probe, i);
    ASSERT_TRUE(live.probe.has_value());
    ASSERT_EQ(live.probe->d_hat.size(), shown.pred_d.size());
    for (size_t k = 0; k < shown.pred_d.size(); ++k) EXPECT_NEAR(live.probe->d_hat[k], shown.pred_d[k], 1e-3 * (1 + shown.pred_d[k]));
    EXPECT_EQ(live.probe->counts.gold, shown.counts.gold);
    EXPECT_EQ(live.probe->counts.matched, shown.counts.matched);
    // One fraction per head plus the mean, per block, each a fraction.
    ASSERT_EQ(int64_t(live.ast_fraction.size()), f.live.layers * (f.live.heads + 1));
    for (const auto& a : live.ast_fraction) {
      EXPECT_GE(a.fraction, 0);
      EXPECT_LE(a.fraction, 1 + 1e-9);
      EXPECT_GT(a.queries, 0);
    }
  }
}

std::string long_code(int lines) {
  std::string code = "def long(x):\n";
  for (int k = 0; k < lines; ++k) code += "    x = x + " + std::to_string(k) + "\n";
  return code + "    return x\n";
}

TEST(Live, ABandOfQueryRowsEqualsThoseRowsOfTheFullPattern) {
  const auto& f = fixture();
  for (const std::string mask : {"default", "lm-infinite:2:8", "window:5"}) {
    auto full_req = request(long_code(20));
    full_req.forward.mask = mask;
    const auto full = analyze(f.live, full_req);
    ASSERT_TRUE(full.ok()) << full.message;
    const int64_t n = int64_t(full.tokens.ids.size());
    ASSERT_GT(n, 100);
    auto band_req = full_req;
    band_req.forward.pattern_first_row = 70, band_req.forward.pattern_rows = 16;
    const auto band = analyze(f.live, band_req);
    ASSERT_TRUE(band.ok()) << band.message;
    for (size_t b = 0; b < band.states.patterns.size(); ++b) {
      const auto& p = band.states.patterns[b];
      const auto& q = full.states.patterns[b];
      ASSERT_EQ(p.first_row, 70);
      ASSERT_EQ(p.rows, 16);
      ASSERT_EQ(p.values.size(), size_t(p.heads * 16 * n));  // only the band is held, never n x n
      for (int64_t h = 0; h < p.heads; ++h)
        for (int64_t row = 70; row < 86; ++row)
          for (int64_t k = 0; k < n; ++k) ASSERT_NEAR(p.at(h, row, k), q.at(h, row, k), 1e-6) << mask;
    }
    // A band past the end is clipped to the input.
    band_req.forward.pattern_first_row = n - 3;
    EXPECT_EQ(analyze(f.live, band_req).states.patterns.at(0).rows, 3);
  }
}

TEST(Live, TheMaskModeChangesTheForward) {
  const auto& f = fixture();
  auto req = request(long_code(4));
  const auto causal = analyze(f.live, req);
  req.forward.mask = "window:3";
  const auto window = analyze(f.live, req);
  ASSERT_TRUE(causal.ok() && window.ok());
  const auto& p = window.states.patterns.at(0);
  double diff = 0;
  for (int64_t q = 0; q < p.rows; ++q)
    for (int64_t k = 0; k < p.keys; ++k) {
      if (k > q || q - k >= 3) EXPECT_EQ(p.at(0, q, k), 0.f) << q << "," << k;
      diff = std::max(diff, double(std::abs(p.at(0, q, k) - causal.states.patterns[0].at(0, q, k))));
    }
  EXPECT_GT(diff, 1e-3);
  EXPECT_EQ(window.states.mask, "window:3");
}

TEST(Live, ParseErrorsAreMarkedAndStopTheRun) {
  const auto& f = fixture();
  const auto bad = analyze(f.live, request("def broken(:\n    return )\n"));
  EXPECT_EQ(bad.status, LiveStatus::parse_error);
  EXPECT_NE(bad.message.find("syntax error"), std::string::npos) << bad.message;
  ASSERT_FALSE(bad.parse.issues.empty());
  EXPECT_EQ(bad.parse.issues[0].line, 1);
  EXPECT_TRUE(bad.states.hidden.empty());
  // A MISSING token: zero width, named by the type the grammar expected.
  const auto missing = parse_snippet("class A {\n  int f() { return 1 }\n}\n", syntax::Language::Java);
  EXPECT_FALSE(missing.ok);
  bool found_missing = false;
  for (const auto& is : missing.issues)
    if (is.missing) {
      found_missing = true;
      EXPECT_EQ(is.begin, is.end);
      EXPECT_EQ(is.type, ";");
      EXPECT_EQ(is.line, 2);
      EXPECT_EQ(is.column, 21);
    }
  EXPECT_TRUE(found_missing);

  EXPECT_TRUE(parse_snippet("def f(x):\n    return x\n", syntax::Language::Python).issues.empty());
}

TEST(Live, CancelStopsBeforeTheForward) {
  const auto& f = fixture();
  std::atomic<bool> cancel{true};
  auto req = request(long_code(3));
  req.cancel = &cancel;
  const auto r = analyze(f.live, req);
  EXPECT_EQ(r.status, LiveStatus::cancelled);
  EXPECT_TRUE(r.states.patterns.empty());
}

TEST(Live, AstFractionOfPlantedAttention) {
  // Words a b c under one parent (distance 2 between any two leaves of siblings); token t belongs to word t.
  TokenView t;
  t.words = {"a", "b", "c", "d"};
  t.word_of = {-1, 0, 1, 2, 3};  // token 0 is a special
  GoldSyntax g;
  // a,b siblings (2); c,d far from both (4); c,d siblings.
  g.word_distance = {0, 2, 4, 4, 2, 0, 4, 4, 4, 4, 0, 2, 4, 4, 2, 0};
  ForwardStates s;
  Pattern p;
  p.layer = 1, p.heads = 2, p.first_row = 0, p.rows = 5, p.keys = 5;
  p.values.assign(size_t(2 * 5 * 5), 0.f);
  auto set = [&](int h, int q, int k, float v) { p.values[size_t((h * 5 + q) * 5 + k)] = v; };
  // Head 0: each word query puts half its mass on its sibling, half on itself.
  set(0, 0, 0, 1);
  set(0, 1, 1, .5f), set(0, 1, 2, .5f);
  set(0, 2, 2, .5f), set(0, 2, 1, .5f);
  set(0, 3, 3, .5f), set(0, 3, 4, .5f);
  set(0, 4, 4, .5f), set(0, 4, 3, .5f);
  // Head 1: everything on the special token.
  for (int q = 0; q < 5; ++q) set(1, q, 0, 1);
  s.patterns.push_back(p);
  const auto f = ast_fractions(s, t, g, 2);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_DOUBLE_EQ(f[0].fraction, 0.5);
  EXPECT_EQ(f[0].queries, 4);
  EXPECT_DOUBLE_EQ(f[1].fraction, 0.0);
  EXPECT_EQ(f[2].head, -1);
  EXPECT_DOUBLE_EQ(f[2].fraction, 0.25);
  // Only the captured band counts: rows 3..4 (words c, d).
  Pattern band = p;
  band.first_row = 3, band.rows = 2;
  band.values.assign(p.values.begin() + 3 * 5, p.values.begin() + 5 * 5);  // head 0 rows 3,4
  band.values.insert(band.values.end(), p.values.begin() + 25 + 15, p.values.end());
  s.patterns = {band};
  EXPECT_DOUBLE_EQ(ast_fractions(s, t, g, 2)[0].fraction, 0.5);
  EXPECT_EQ(ast_fractions(s, t, g, 2)[0].queries, 2);
}

}  // namespace
}  // namespace ps::live
