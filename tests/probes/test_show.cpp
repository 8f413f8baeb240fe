// probe show: a probe that is perfect by construction reproduces the gold tree exactly (F1 = 1), and
// the gold tree equals the planted tree printed by an independent encoder.
#include <gtest/gtest.h>

#include "models/util/error.h"
#include "data/corpus/load.h"
#include "probes/show.h"
#include "store_planted.h"

using namespace ps::probes;

namespace {
// Layer 1 holds h = A·[a; b] exactly (noise 0). P = A's first |C|+|U| columns recovers t = [a; b];
// V_c reads a (‖Δa‖² = d, direction e_c), V_u reads b. Δb adds at most 0.5 to d̂, which cannot
// reorder the integer d of a valid tree (its split maxima are unique).
SavedAstProbe perfect_probe(const planted::PlantedStore& p, int dim) {
  const DecodeVocab v = planted::planted_vocab();
  const int nc = static_cast<int>(v.c.labels.size()), nu = static_cast<int>(v.u.labels.size()), k = nc + nu;
  SavedAstProbe s;
  s.vocab = v;
  s.layer = 1;
  AstProbeModel& m = s.model;
  m.dim = dim, m.rank = k, m.n_c = nc, m.n_u = nu;
  m.P.assign(static_cast<size_t>(dim) * k, 0.0f);
  for (int r = 0; r < dim; ++r)
    for (int j = 0; j < k; ++j) m.P[static_cast<size_t>(r) * k + j] = p.embedding[static_cast<size_t>(r) * dim + j];
  m.Vc.assign(static_cast<size_t>(k) * nc, 0.0f);
  m.Vu.assign(static_cast<size_t>(k) * nu, 0.0f);
  for (int j = 0; j < nc; ++j) m.Vc[static_cast<size_t>(j) * nc + j] = 1.0f;
  for (int j = 0; j < nu; ++j) m.Vu[static_cast<size_t>(nc + j) * nu + j] = 1.0f;
  return s;
}
}  // namespace

TEST(ProbeShow, PerfectProbeReproducesTheGoldTree) {
  const std::string dir = planted::fresh_dir("show");
  planted::PlantedStoreOptions o;
  o.n_snippets = 30;
  o.noise = 0;
  const planted::PlantedStore p = planted::write_planted_store(dir + "/p.h5", o);
  ps::store::StoreReader r(dir + "/p.h5");
  SavedAstProbe probe = perfect_probe(p, o.dim);
  save_ast_probe(dir + "/perfect.safetensors", probe);
  probe = load_ast_probe(dir + "/perfect.safetensors");
  const DecodeVocab v = planted::planted_vocab();
  for (int64_t i = 0; i < 30; ++i) {
    if (p.trees[i].nodes.empty()) continue;  // the empty snippet
    const SnippetView view = predict_snippet(r, probe, i);
    const std::string gold = to_bracket(view.gold), pred = to_bracket(view.predicted);
    EXPECT_EQ(gold, planted::expanded_bracket(p.trees[i], v)) << "snippet " << i;
    EXPECT_EQ(pred, gold) << "snippet " << i;
    EXPECT_DOUBLE_EQ(view.prf.f1, 1.0);
    EXPECT_EQ(view.gold_c, view.pred_c);
    EXPECT_EQ(view.gold_u, view.pred_u);
    for (size_t k = 0; k < view.gold_d.size(); ++k) EXPECT_LT(std::abs(view.pred_d[k] - view.gold_d[k]), 0.51);
  }
  // A probe that learned nothing does not: the check can fail.
  SavedAstProbe random = probe;
  random.model = init_ast_probe(o.dim, 13, probe.model.n_c, probe.model.n_u, 5);
  EXPECT_LT(predict_snippet(r, random, 0).prf.f1, 0.9);

  // Snippets by index or id; tokens from the corpus text; indented rendering.
  EXPECT_EQ(find_snippet(r, "3"), 3);
  EXPECT_EQ(find_snippet(r, "planted-7"), 7);
  EXPECT_THROW(find_snippet(r, "planted-99"), ps::InputError);
  EXPECT_THROW(find_snippet(r, "30"), ps::InputError);
  const std::string code = planted::planted_code(p.types[2]);
  {
    std::FILE* f = std::fopen((dir + "/corpus.jsonl").c_str(), "w");
    std::fprintf(f, "{\"id\": \"planted-1\", \"code\": \"x\"}\n{\"id\": \"planted-2\", \"code\": \"%s\"}\n", code.c_str());
    std::fclose(f);
  }
  EXPECT_EQ(ps::corpus::find(dir + "/corpus.jsonl", "planted-2").code, code);
  EXPECT_THROW(ps::corpus::find(dir + "/corpus.jsonl", "planted-3"), ps::InputError);
  const std::vector<std::string> tokens = word_texts(code, r.words(2).spans);
  ASSERT_EQ(tokens.size(), p.types[2].size());
  char first[8];
  std::snprintf(first, sizeof first, "t%03d", p.types[2][0]);
  EXPECT_EQ(tokens[0], first);
  const SnippetView view = predict_snippet(r, probe, 2, &tokens);
  const std::string text = to_indented(view.gold, view.tokens);
  EXPECT_NE(text.find("\n  "), std::string::npos);
  EXPECT_NE(text.find(std::string("0 ") + first), std::string::npos);
  EXPECT_THROW(word_texts("short", r.words(2).spans), ps::InputError);
  const std::vector<std::string> wrong(2, "x");
  EXPECT_THROW(predict_snippet(r, probe, 2, &wrong), ps::InputError);
  SavedAstProbe other_layer = probe;
  other_layer.layer = 9;
  EXPECT_THROW(predict_snippet(r, other_layer, 2), ps::InputError);
}
