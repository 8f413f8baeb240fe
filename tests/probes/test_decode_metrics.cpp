// Decoder and metric tests: the spec's worked example, planted round trips, hand-computed P/R/F1.
#include <gtest/gtest.h>

#include "models/util/error.h"
#include "planted.h"
#include "probes/metrics.h"
#include "probes/tree_decode.h"

using namespace ps::probes;

namespace {
Constituent K(const std::string& l, int b, int e) { return {l, b, e}; }
}  // namespace

TEST(TreeDecode, SpecWorkedExample) {
  DecodeVocab v;
  v.c.labels = {"<empty>", "expression_statement<sep>assignment", "block"};
  v.c.empty_id = 0;
  v.u.labels = {"<empty>", "break_statement"};
  v.u.empty_id = 0;
  const DecodedTree t = decode_tree({2, 1, 3}, {1, 0, 2}, {0, 0, 0, 1}, v);
  const std::vector<std::string> toks = {"selected", "=", "element", "break"};
  EXPECT_EQ(to_bracket(t, &toks),
            "(block (expression_statement (assignment selected = element)) (break_statement break))");
  const std::vector<Constituent> want = {K("block", 0, 3), K("expression_statement", 0, 2), K("assignment", 0, 2),
                                         K("break_statement", 3, 3)};
  EXPECT_EQ(constituents(t), want);
}

TEST(TreeDecode, TiesSplitAtFirstIndexAndEmptyRootGivesForest) {
  DecodeVocab v;
  v.c.labels = {"<empty>", "A"};
  v.c.empty_id = 0;
  v.u.labels = {"<empty>"};
  v.u.empty_id = 0;
  // Equal distances: the first index wins every tie, so the tree is right-branching.
  EXPECT_EQ(to_bracket(decode_tree({1, 1, 1}, {1, 1, 1}, {0, 0, 0, 0}, v)), "(A 0 (A 1 (A 2 3)))");
  const DecodedTree forest = decode_tree({2, 1}, {0, 1}, {0, 0, 0}, v);
  EXPECT_EQ(forest.roots.size(), 2u);
  EXPECT_EQ(to_bracket(forest), "0 (A 1 2)");
  EXPECT_EQ(to_bracket(decode_tree({}, {}, {0}, v)), "0");
}

TEST(TreeDecode, BadInputThrowsInputError) {
  const DecodeVocab v = planted::planted_vocab();
  EXPECT_THROW(decode_tree({1.0}, {1}, {0}, v), ps::InputError);          // |u| must be |d|+1
  EXPECT_THROW(decode_tree({1.0}, {99}, {0, 0}, v), ps::InputError);      // c id outside vocab
  EXPECT_THROW(decode_tree({1.0}, {1}, {0, -1}, v), ps::InputError);      // u id outside vocab
  EXPECT_THROW(decode_tree({}, {}, {}, v), ps::InputError);               // empty snippet
}

TEST(TreeDecode, PlantedGoldRoundTripIsExact) {
  const DecodeVocab v = planted::planted_vocab();
  std::mt19937_64 rng(5);
  ConstituentScorer scorer;
  for (int s = 0; s < 300; ++s) {
    const int n = 1 + static_cast<int>(rng() % 40);
    const planted::PTree t = planted::random_tree(n, rng, v);
    DcuPrediction p;
    std::vector<int32_t> d;
    planted::tree_to_dcu(t, d, p.c, p.u);
    ASSERT_EQ(d.size() + 1, p.u.size());
    p.d.assign(d.begin(), d.end());
    const DecodedTree dec = decode_tree(p, v);
    ASSERT_EQ(to_bracket(dec), planted::expanded_bracket(t, v)) << "tree " << s;
    scorer.add(constituents(dec), constituents(dec));
  }
  EXPECT_DOUBLE_EQ(scorer.macro().f1, 1.0);
  EXPECT_DOUBLE_EQ(scorer.micro().f1, 1.0);
}

TEST(TreeDecode, GoldThroughEvaluateGivesF1One) {
  planted::PlantedOptions o;
  o.n_samples = 50;
  const ProbeDataset ds = planted::planted_dataset(o);
  std::vector<DcuPrediction> gold;
  for (const auto& s : ds.samples) gold.push_back(gold_as_prediction(s));
  const AstProbeMetrics m = evaluate_predictions(gold, ds, planted::planted_vocab());
  EXPECT_DOUBLE_EQ(m.macro.f1, 1.0);
  EXPECT_DOUBLE_EQ(m.micro.f1, 1.0);
  EXPECT_DOUBLE_EQ(m.c_accuracy, 1.0);
  EXPECT_DOUBLE_EQ(m.u_accuracy, 1.0);
  for (const auto& [label, r] : m.per_label) EXPECT_DOUBLE_EQ(r.recall(), 1.0) << label;
  EXPECT_TRUE(m.per_label.count("D") && m.per_label.count("E") && m.per_label.count("y"));  // chains expanded
  EXPECT_FALSE(m.per_label.count("<empty>"));
}

TEST(Metrics, HandComputedMacroAndMicro) {
  ConstituentScorer s;
  // Snippet 1: 2 of 3 predicted match 2 of 4 gold → P 2/3, R 1/2, F1 4/7.
  s.add({K("A", 0, 3), K("B", 0, 1), K("C", 2, 3)}, {K("A", 0, 3), K("B", 0, 1), K("B", 2, 3), K("D", 1, 2)});
  // Snippet 2: perfect.
  s.add({K("X", 0, 1)}, {K("X", 0, 1)});
  EXPECT_NEAR(s.macro().precision, 5.0 / 6.0, 1e-12);
  EXPECT_NEAR(s.macro().recall, 0.75, 1e-12);
  EXPECT_NEAR(s.macro().f1, (4.0 / 7.0 + 1.0) / 2.0, 1e-12);
  EXPECT_NEAR(s.micro().precision, 0.75, 1e-12);  // 3 matched / 4 predicted
  EXPECT_NEAR(s.micro().recall, 0.6, 1e-12);      // 3 / 5 gold
  EXPECT_NEAR(s.micro().f1, 2 * 0.75 * 0.6 / 1.35, 1e-12);
  EXPECT_EQ(s.per_label().at("B").gold, 2);
  EXPECT_EQ(s.per_label().at("B").matched, 1);
  EXPECT_EQ(s.per_label().at("D").matched, 0);
  EXPECT_EQ(s.per_label().count("C"), 0u);  // per-label recall is over gold labels only
}

TEST(Metrics, MultisetMatchingAndEmptyConventions) {
  const MatchCounts m = match_constituents({K("A", 0, 1), K("A", 0, 1)}, {K("A", 0, 1)});
  EXPECT_EQ(m.matched, 1);
  EXPECT_NEAR(prf(m).precision, 0.5, 1e-12);
  EXPECT_NEAR(prf(m).recall, 1.0, 1e-12);
  EXPECT_EQ(match_constituents({K("A", 0, 1)}, {K("A", 0, 2)}).matched, 0);  // span must match
  EXPECT_EQ(match_constituents({K("A", 0, 1)}, {K("B", 0, 1)}).matched, 0);  // label must match
  EXPECT_DOUBLE_EQ(prf({0, 0, 0}).f1, 1.0);
  EXPECT_DOUBLE_EQ(prf({0, 0, 3}).f1, 0.0);
  EXPECT_DOUBLE_EQ(prf({0, 2, 0}).precision, 0.0);
}

TEST(Metrics, TokenAccuraciesCountPositions) {
  const DecodeVocab v = planted::planted_vocab();
  ProbeDataset ds;
  ds.dim = 1;
  ds.n_c_labels = 6;
  ds.n_u_labels = 4;
  ProbeSample s;
  s.n_words = 3;
  s.vectors = {0, 0, 0};
  s.d = {1, 2};
  s.c = {1, 2};
  s.u = {0, 1, 3};
  ds.samples.push_back(s);
  DcuPrediction p{{1, 2}, {1, 3}, {0, 1, 0}};
  const AstProbeMetrics m = evaluate_predictions({p}, ds, v);
  EXPECT_NEAR(m.c_accuracy, 0.5, 1e-12);
  EXPECT_NEAR(m.u_accuracy, 2.0 / 3.0, 1e-12);
  // gold: B[0,2], A[0,1], x[1,1], w[2,2]; pred: C[0,2], A[0,1], x[1,1] → P 2/3, R 2/4.
  EXPECT_NEAR(m.macro.precision, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(m.macro.recall, 0.5, 1e-12);
  EXPECT_THROW(evaluate_predictions({}, ds, v), ps::InputError);
}
