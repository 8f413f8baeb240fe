#include "analysis/report/report.h"

#include <gtest/gtest.h>

#include <cmath>

#include "models/util/error.h"

namespace {

using ps::plot::read_csv_table;
using ps::report::StudyInputs;

const char* kSummary =
    "model,language,layer,k,task,n_seeds,f1_macro_mean,f1_macro_std\n"
    "trained,python,0,16,real,1,0.30,0\n"
    "trained,python,0,64,real,1,0.32,0\n"
    "trained,python,1,16,real,1,0.50,0\n"
    "trained,python,1,64,real,1,0.61,0\n"
    "trained,python,1,64,control,1,0.90,0\n"  // control rows never count as the best
    "trained,python,2,64,real,1,0.55,0\n"
    "random,python,0,64,real,1,0.31,0\n"
    "random,python,1,64,real,1,0.35,0\n"
    "random,python,2,64,real,1,0.33,0\n"
    "step-8,python,1,64,real,1,0.40,0\n"
    "step-40,python,2,64,real,1,0.47,0\n";

const char* kId =
    "model,store,layer,estimator,id,lo,hi,n_points,n_used,n_duplicates,seconds\n"
    "trained,a.h5,0,twonn,10,9,11,100,100,0,0.1\n"
    "trained,a.h5,2,twonn,14,13,15,100,100,0,0.1\n"
    "trained,a.h5,2,pca90,40,38,42,100,100,0,0.1\n"
    "random,b.h5,0,twonn,16,15,17,100,100,0,0.1\n"
    "random,b.h5,2,twonn,20,19,21,100,100,0,0.1\n"
    "step-8,c.h5,2,twonn,18,17,19,100,100,0,0.1\n";

StudyInputs inputs() {
  StudyInputs in;
  in.probe_summary = read_csv_table(kSummary, "summary.csv");
  in.id = read_csv_table(kId, "id.csv");
  in.trained = "trained";
  in.random_baselines = {"random"};
  in.checkpoints = {{"step-40", 40}, {"step-8", 8}};
  in.final_step = 400;
  in.figures = {{"figures/f1.png", "F1 by layer"}};
  return in;
}

TEST(Report, BestIgnoresControlAndFindsLayerAndK) {
  const auto in = inputs();
  const auto b = ps::report::best_f1(in.probe_summary, "trained");
  ASSERT_TRUE(b.found);
  EXPECT_EQ(b.layer, 1);
  EXPECT_EQ(b.k, 64);
  EXPECT_DOUBLE_EQ(b.f1, 0.61);
  EXPECT_FALSE(ps::report::best_f1(in.probe_summary, "absent").found);
  EXPECT_TRUE(std::isnan(ps::report::f1_at(in.probe_summary, "trained", 2, 16)));
}

TEST(Report, VerdictsCompareAgainstLayerZeroAndRandomWeights) {
  auto in = inputs();
  auto f = ps::report::findings(in);
  EXPECT_DOUBLE_EQ(f.trained_layer0, 0.32);
  EXPECT_TRUE(f.above_layer0);
  EXPECT_TRUE(f.above_random);
  EXPECT_DOUBLE_EQ(f.random.f1, 0.35);
  // A random baseline within 0.02 of the trained model is not "clearly" below it.
  in.probe_summary = read_csv_table(std::string(kSummary) + "random,python,3,64,real,1,0.60,0\n", "summary.csv");
  f = ps::report::findings(in);
  EXPECT_FALSE(f.above_random);
  EXPECT_TRUE(f.above_layer0);
}

// The quickstart's grid: every layer at k = 64, the k sweep only at the best layer. When the best k is not 64,
// layer 0 is compared at its own k, named, not left blank.
TEST(Report, LayerZeroWithoutAFitAtTheBestKIsComparedAtItsOwnK) {
  StudyInputs in;
  in.trained = "trained";
  in.probe_summary = read_csv_table(
      "model,language,layer,k,task,n_seeds,f1_macro_mean,f1_macro_std,valid_f1_macro_mean\n"
      "trained,go,0,64,real,3,0.38,0.01,0.39\ntrained,go,3,64,real,3,0.45,0.01,0.46\n"
      "trained,go,3,32,real,3,0.44,0.01,0.48\n",
      "summary.csv");
  const auto f = ps::report::findings(in);
  EXPECT_EQ(f.trained.k, 32);
  EXPECT_DOUBLE_EQ(f.trained_layer0, 0.38);
  EXPECT_TRUE(f.above_layer0);
  EXPECT_NE(f.lines[0].find("reaches 0.380 at k = 64 (no layer-0 fit at k = 32)"), std::string::npos) << f.lines[0];
}

TEST(Report, MarkdownHoldsTablesCheckpointsAndFigures) {
  const std::string md = ps::report::study_markdown(inputs());
  EXPECT_NE(md.find("| 1 | 0.610 | 0.350 | – | 0.400 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 1 | 0.500 | 0.610 |"), std::string::npos) << md;  // F1 by k, layer 1
  EXPECT_NE(md.find("| 2 | 14.0 [13.0, 15.0] | 20.0 [19.0, 21.0] | 18.0 [17.0, 19.0] |"), std::string::npos) << md;
  EXPECT_NE(md.find("lower after training"), std::string::npos);
  // With several random variants each ID line names its own.
  EXPECT_NE(md.find("over layers: trained 12.0 vs random 18.0 (lower"), std::string::npos) << md;
  // Checkpoints sorted by step, the final model last.
  const auto s8 = md.find("| 8 | step-8 | 0.400 (1, 64)"), s40 = md.find("| 40 | step-40 | 0.470 (2, 64)"),
             s400 = md.find("| 400 | trained | 0.610 (1, 64) | 12.0 | – | 14.0 | 40.0 |");
  ASSERT_NE(s8, std::string::npos) << md;
  ASSERT_NE(s40, std::string::npos) << md;
  ASSERT_NE(s400, std::string::npos) << md;
  EXPECT_LT(s8, s40);
  EXPECT_LT(s40, s400);
  EXPECT_NE(md.find("step 8: 0.400 → step 40: 0.470 → step 400: 0.610"), std::string::npos) << md;
  EXPECT_NE(md.find("![F1 by layer](figures/f1.png)"), std::string::npos);
}

TEST(Report, LayerTableUsesAKEveryModelWasProbedAt) {
  auto in = inputs();
  // The trained model is best at k = 128, which the checkpoints lack: the table stays at the shared k = 64.
  in.probe_summary = read_csv_table(std::string(kSummary) + "trained,python,1,128,real,1,0.70,0\n", "summary.csv");
  const std::string md = ps::report::study_markdown(in);
  EXPECT_NE(md.find("## AST-Probe F1 by layer (test macro F1, k = 64)"), std::string::npos) << md;
  EXPECT_NE(md.find("best AST-Probe F1 is 0.700 (layer 1, k = 128;"), std::string::npos) << md;
  // With the trained model alone, its best k is the table's.
  in = StudyInputs{};
  in.trained = "trained";
  in.probe_summary = read_csv_table(
      "model,layer,k,task,f1_macro_mean,f1_macro_std\ntrained,0,64,real,0.3,0\ntrained,0,128,real,0.4,0\n", "s.csv");
  EXPECT_NE(ps::report::study_markdown(in).find("(test macro F1, k = 128)"), std::string::npos);
}

TEST(Report, MissingColumnOrBadNumberNamesTheFile) {
  auto in = inputs();
  in.probe_summary = read_csv_table("model,layer,k,task\ntrained,0,16,real\n", "bad_summary.csv");
  try {
    ps::report::study_markdown(in);
    FAIL() << "expected InputError";
  } catch (const ps::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("bad_summary.csv"), std::string::npos) << e.what();
  }
  in = inputs();
  in.id = read_csv_table("model,store,layer,estimator,id,lo,hi\ntrained,a,x,twonn,1,1,1\n", "bad_id.csv");
  try {
    ps::report::study_markdown(in);
    FAIL() << "expected InputError";
  } catch (const ps::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("bad_id.csv: line 2"), std::string::npos) << e.what();
  }
}

}  // namespace

namespace {

// Layer 1 wins on test, layer 2 on validation: the report must pick layer 2 and give its test F1.
const char* kSummaryWithValid =
    "model,language,layer,k,task,n_seeds,f1_macro_mean,f1_macro_std,valid_f1_macro_mean,valid_f1_macro_std\n"
    "trained,python,0,64,real,3,0.30,0.01,0.31,0.01\n"
    "trained,python,1,64,real,3,0.61,0.02,0.50,0.02\n"
    "trained,python,2,64,real,3,0.55,0.03,0.58,0.01\n";

const char* kBaselines =
    "model,language,baseline,layer,f1_macro_mean,f1_macro_std,f1_micro_mean,f1_micro_std,n_seeds,n_snippets,"
    "identical_pairs,n_pairs\n"
    "trained,python,right_branching_majority,-1,0,0,0,0,1,40,,\n"
    "trained,python,right_branching_gold,-1,0.283,0,0.3,0,1,40,,\n"
    "trained,python,random_d_gold,-1,0.107,0.003,0.1,0,3,40,,\n"
    "trained,python,gold_through_alignment,2,0.77,0,0.8,0,1,40,120,2000\n";

}  // namespace

TEST(Report, LayerAndKAreChosenOnValidationAndBaselinesAreShown) {
  StudyInputs in;
  in.probe_summary = read_csv_table(kSummaryWithValid, "summary.csv");
  in.baselines = read_csv_table(kBaselines, "baselines.csv");
  in.trained = "trained";
  const auto b = ps::report::best_f1(in.probe_summary, "trained");
  ASSERT_TRUE(b.found);
  EXPECT_TRUE(b.on_validation);
  EXPECT_EQ(b.layer, 2);
  EXPECT_DOUBLE_EQ(b.f1, 0.55);
  EXPECT_DOUBLE_EQ(b.valid, 0.58);
  const std::string md = ps::report::study_markdown(in);
  EXPECT_NE(md.find("chosen on validation F1 0.580"), std::string::npos) << md;
  EXPECT_NE(md.find("## Baselines"), std::string::npos) << md;
  EXPECT_NE(md.find("| trained | gold_through_alignment | 2 | 0.770 | 120 of 2000 |"), std::string::npos) << md;
  EXPECT_NE(md.find("random_d_gold 0.107 ± 0.003"), std::string::npos) << md;
  EXPECT_NE(md.find("(the cap at layer 2) scores 0.770"), std::string::npos) << md;
  // Without baselines the report says how to get them.
  in.baselines = {};
  EXPECT_NE(ps::report::study_markdown(in).find("No trivial baselines given"), std::string::npos);
}

namespace {

// A planted study: the trained model peaks at layer 2, k = 64 (validation and test agree), random weights and
// the embeddings sit together near 0.30, and pre-training lowers the intrinsic dimension.
std::string planted_summary(bool peak_in_middle) {
  std::string csv = "model,language,layer,k,task,n_seeds,f1_macro_mean,f1_macro_std,valid_f1_macro_mean\n";
  const int peak = peak_in_middle ? 2 : 4;
  for (int layer = 0; layer <= 4; ++layer)
    for (int k : {8, 16, 32, 64, 128, 256}) {
      const double f = layer == 0 ? 0.30 : 0.60 - 0.05 * std::abs(layer - peak) - 0.02 * std::abs(std::log2(k / 64.0));
      csv += "trained,go," + std::to_string(layer) + "," + std::to_string(k) + ",real,3," + std::to_string(f) +
             ",0.01," + std::to_string(f) + "\n";
    }
  for (int layer = 0; layer <= 4; ++layer)
    csv += "random,go," + std::to_string(layer) + ",64,real,3,0.31,0.01,0.31\n";
  csv += "trained,python,2,64,real,3,0.99,0.01,0.99\n";  // another language: for_language drops it
  return csv;
}

}  // namespace

TEST(Report, PaperClaimsHoldOnAPlantedStudyAndFailWhenPlantedOtherwise) {
  StudyInputs in;
  in.trained = "trained";
  in.random_baselines = {"random"};
  in.id = read_csv_table(kId, "id.csv");
  in.baselines = read_csv_table(
      "model,language,baseline,layer,f1_macro_mean,f1_macro_std,f1_micro_mean,f1_micro_std,n_seeds,n_snippets,"
      "identical_pairs,n_pairs\ntrained,go,right_branching_gold,-1,0.28,0,0.3,0,1,40,,\n",
      "baselines.csv");
  in.probe_summary = read_csv_table(planted_summary(true), "summary.csv");
  const auto go = ps::report::for_language(in, "go");
  EXPECT_EQ(go.probe_summary.rows.size(), in.probe_summary.rows.size() - 1);
  auto claims = ps::report::paper_claims(go);
  ASSERT_EQ(claims.size(), 5u);
  for (const auto& c : claims) EXPECT_EQ(c.verdict, "holds") << c.finding << ": " << c.evidence;
  EXPECT_NE(claims[2].evidence.find("best layer 2 of 0..4 at k = "), std::string::npos) << claims[2].evidence;
  EXPECT_NE(claims[3].evidence.find("the best k is 64"), std::string::npos) << claims[3].evidence;
  // Without the language filter the python row (0.99) is the best: a mixed table would mislead.
  EXPECT_EQ(ps::report::best_f1(in.probe_summary, "trained").f1, 0.99);

  in.probe_summary = read_csv_table(planted_summary(false), "summary.csv");
  claims = ps::report::paper_claims(ps::report::for_language(in, "go"));
  EXPECT_EQ(claims[2].verdict, "does not hold") << claims[2].evidence;  // the peak is the last layer
  // A random baseline as good as the trained model: not above every baseline, and not ≈ the embeddings.
  std::string strong = planted_summary(true);
  for (size_t at; (at = strong.find("0.31,0.01,0.31")) != std::string::npos;) strong.replace(at, 14, "0.60,0.01,0.60");
  in.probe_summary = read_csv_table(strong, "summary.csv");
  claims = ps::report::paper_claims(ps::report::for_language(in, "go"));
  EXPECT_EQ(claims[0].verdict, "does not hold");
  EXPECT_NE(claims[0].evidence.find("not clearly above: random"), std::string::npos) << claims[0].evidence;
  EXPECT_EQ(claims[1].verdict, "does not hold");
  // A flat layer curve whose middle wins by noise (0.291 vs 0.285 ± 0.006) is not a peak.
  in.probe_summary = read_csv_table(
      "model,language,layer,k,task,n_seeds,f1_macro_mean,f1_macro_std,valid_f1_macro_mean\n"
      "trained,go,0,64,real,3,0.283,0.006,0.30\ntrained,go,1,64,real,3,0.285,0.006,0.31\n"
      "trained,go,2,64,real,3,0.280,0.006,0.30\n",
      "summary.csv");
  EXPECT_EQ(ps::report::paper_claims(in)[2].verdict, "does not hold");
  // Too few k values: the k claim is not measured rather than guessed.
  in.probe_summary = read_csv_table(kSummary, "summary.csv");
  EXPECT_EQ(ps::report::paper_claims(in)[3].verdict, "not measured");
  EXPECT_NE(ps::report::study_markdown(in).find("## The paper's findings on this model"), std::string::npos);
}

// A headline summary (larger probe budget at the chosen layers) decides the comparison with every baseline,
// while the layer and k curves still come from the main summary: planted so the two disagree.
TEST(Report, AHeadlineSummaryDecidesTheBaselineComparisonAndTheCurvesStay) {
  StudyInputs in;
  in.trained = "trained";
  in.random_baselines = {"random"};
  // The strong random baseline makes the main summary's comparison fail ...
  std::string strong = planted_summary(true);
  for (size_t at; (at = strong.find("0.31,0.01,0.31")) != std::string::npos;) strong.replace(at, 14, "0.60,0.01,0.60");
  in.probe_summary = read_csv_table(strong, "summary.csv");
  EXPECT_EQ(ps::report::paper_claims(ps::report::for_language(in, "go"))[0].verdict, "does not hold");
  // ... and the headline, fitted longer, separates them.
  in.headline = read_csv_table(
      "model,language,layer,k,task,n_seeds,f1_macro_mean,f1_macro_std,valid_f1_macro_mean\n"
      "trained,go,2,64,real,3,0.720,0.004,0.71\ntrained,go,0,64,real,3,0.400,0.005,0.40\n"
      "random,go,1,64,real,3,0.410,0.006,0.41\ntrained,python,2,64,real,3,0.10,0.01,0.10\n",
      "headline.csv");
  const auto go = ps::report::for_language(in, "go");
  EXPECT_EQ(go.headline.rows.size(), 3u);
  const auto claims = ps::report::paper_claims(go);
  ASSERT_EQ(claims.size(), 5u);
  EXPECT_EQ(claims[0].verdict, "holds") << claims[0].evidence;
  EXPECT_NE(claims[0].evidence.find("trained 0.720 ± 0.004"), std::string::npos) << claims[0].evidence;
  EXPECT_EQ(claims[1].verdict, "holds") << claims[1].evidence;  // random 0.410 vs embeddings 0.400
  EXPECT_EQ(claims[2].verdict, "holds") << claims[2].evidence;  // the main summary's middle peak
  EXPECT_NE(claims[3].evidence.find("the best k is 64"), std::string::npos) << claims[3].evidence;
  const auto f = ps::report::findings(go);
  EXPECT_DOUBLE_EQ(f.trained.f1, 0.720);
  EXPECT_DOUBLE_EQ(f.trained_layer0, 0.400);
  const std::string md = ps::report::study_markdown(go);
  EXPECT_NE(md.find("## Headline comparison"), std::string::npos) << md;
  EXPECT_NE(md.find("| random | 1 | 64 | 3 | 0.410 ± 0.006 | 0.410 | 0.310 |"), std::string::npos) << md;
}
