// Structural probes: metric helpers against hand-computed values, then planted tree metrics.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "models/util/error.h"
#include "planted.h"
#include "probes/structural.h"

using namespace ps::probes;

TEST(StructuralMetrics, SpearmanWithTies) {
  EXPECT_NEAR(spearman({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0, 1e-12);
  EXPECT_NEAR(spearman({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0, 1e-12);
  // ranks a = (1, 2.5, 2.5, 4), b = (1, 2, 3, 4): r = 4.5 / sqrt(4.5 * 5)
  EXPECT_NEAR(spearman({1, 2, 2, 3}, {1, 2, 3, 4}), 4.5 / std::sqrt(4.5 * 5.0), 1e-12);
  EXPECT_TRUE(std::isnan(spearman({1, 1, 1}, {1, 2, 3})));
}

TEST(StructuralMetrics, MstAndTieAwareUuas) {
  // Path 0-1-2-3 as a distance matrix.
  const std::vector<double> path = {0, 1, 2, 3, 1, 0, 1, 2, 2, 1, 0, 1, 3, 2, 1, 0};
  const auto e = minimum_spanning_tree(path, 4);
  EXPECT_EQ(e, (std::vector<std::pair<int, int>>{{0, 1}, {1, 2}, {2, 3}}));
  StructuralDataset gold;
  gold.dim = 1;
  StructuralSample s;
  s.n_words = 4;
  s.vectors = {0, 0, 0, 0};
  s.distances.assign(path.begin(), path.end());
  gold.samples.push_back(s);
  EXPECT_DOUBLE_EQ(evaluate_distances({path}, gold).uuas, 1.0);
  // A prediction whose MST is the star at 0: only edge (0,1) is a gold MST edge.
  const std::vector<double> star = {0, 1, 1, 1, 1, 0, 2, 2, 1, 2, 0, 2, 1, 2, 2, 0};
  EXPECT_NEAR(evaluate_distances({star}, gold).uuas, 1.0 / 3.0, 1e-12);
  // Leaves of one parent are all at distance 2: any spanning tree over them is a gold MST.
  StructuralSample sib;
  sib.n_words = 3;
  sib.vectors = {0, 0, 0};
  sib.distances = {0, 2, 2, 2, 0, 2, 2, 2, 0};
  StructuralDataset g2;
  g2.dim = 1;
  g2.samples.push_back(sib);
  EXPECT_DOUBLE_EQ(evaluate_distances({{0, 5, 1, 5, 0, 1, 1, 1, 0}}, g2).uuas, 1.0);
  EXPECT_THROW(evaluate_distances({{0, 1}}, gold), ps::InputError);
}

TEST(StructuralMetrics, RootAccuracyAndDepthSpearmanByLength) {
  StructuralDataset gold;
  gold.dim = 1;
  for (int n : {5, 5, 6}) {
    StructuralSample s;
    s.n_words = n;
    s.vectors.assign(n, 0.0f);
    for (int i = 0; i < n; ++i) s.depths.push_back(static_cast<float>(i + 1));
    gold.samples.push_back(s);
  }
  // Sample 0 perfect, sample 1 reversed (root wrong, rho = −1), sample 2 perfect.
  const std::vector<std::vector<double>> pred = {{1, 2, 3, 4, 5}, {5, 4, 3, 2, 1}, {1, 2, 3, 4, 5, 6}};
  const DepthMetrics m = evaluate_depths(pred, gold);
  EXPECT_NEAR(m.root_accuracy, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(m.spearman, (0.0 + 1.0) / 2.0, 1e-12);  // length 5 averages to 0, length 6 is 1
  EXPECT_EQ(m.n_lengths, 2);
}

TEST(StructuralProbe, PlantedDistancesAndDepthsAreRecovered) {
  const StructuralDataset train = planted::planted_structural(200, 6, 20, 64, 1);
  const StructuralDataset valid = planted::planted_structural(60, 6, 20, 64, 2);
  const StructuralDataset test = planted::planted_structural(100, 6, 20, 64, 3);
  StructuralConfig cfg;
  cfg.seed = 5;
  cfg.threads = 1;  // tiny batches: a second OpenMP thread only adds sync cost on a busy machine
  cfg.lr = 1e-2;
  cfg.steps_per_epoch = 0;  // one pass per epoch
  cfg.max_epochs = 15;  // small planted sets: fewer steps than a real corpus gets
  const StructuralFit dist = train_structural_probe(StructuralKind::Distance, train, valid, cfg);
  const DistanceMetrics dm = evaluate_distances(predict_structural(dist.probe, test), test);
  const StructuralFit depth = train_structural_probe(StructuralKind::Depth, train, valid, cfg);
  const DepthMetrics pm = evaluate_depths(predict_structural(depth.probe, test), test);
  std::printf("[ planted ] UUAS %.4f dist Spearman %.4f | root acc %.4f depth Spearman %.4f\n", dm.uuas, dm.spearman,
              pm.root_accuracy, pm.spearman);
  EXPECT_GE(dm.uuas, 0.9);
  EXPECT_GE(dm.spearman, 0.9);
  EXPECT_GE(pm.root_accuracy, 0.9);
  EXPECT_GE(pm.spearman, 0.9);
  // A random projection of a Pythagorean embedding already ranks distances well (Johnson–
  // Lindenstrauss), so compare losses, which also need the scale right: the fit must be far better.
  StructuralProbe rnd = dist.probe;
  ps::probes::Rng r(1);
  r.fill_uniform(rnd.B, -0.05, 0.05);
  EXPECT_LT(dist.best_valid_loss, 0.2 * structural_loss(rnd, valid));
  // Each fit's loss sits beside a constant predictor's (the train median) and beats it by far.
  ASSERT_EQ(dist.best_terms.size(), 1u);
  EXPECT_DOUBLE_EQ(dist.best_terms[0].prior, structural_prior(StructuralKind::Distance, train, valid));
  EXPECT_LT(dist.best_terms[0].value, 0.3 * dist.best_terms[0].prior);
  EXPECT_LT(depth.best_terms.at(0).value, 0.3 * depth.best_terms.at(0).prior);
  // By hand: train depths {1, 2, 3} (median 2), valid depths {0, 4}: mean |d − 2| = 2; train distances
  // off the diagonal {1, 1}, valid {3, 3}: (2 + 2) / 2² = 1.
  StructuralDataset a, b;
  a.dim = b.dim = 1;
  a.samples.push_back({3, {0, 0, 0}, {0, 1, 2, 1, 0, 1, 2, 1, 0}, {1, 2, 3}});
  b.samples.push_back({2, {0, 0}, {0, 3, 3, 0}, {0, 4}});
  EXPECT_DOUBLE_EQ(structural_prior(StructuralKind::Depth, a, b), 2.0);
  StructuralDataset a2 = a;
  a2.samples[0] = {2, {0, 0}, {0, 1, 1, 0}, {1, 1}};
  EXPECT_DOUBLE_EQ(structural_prior(StructuralKind::Distance, a2, b), 1.0);
  EXPECT_THROW(train_structural_probe(StructuralKind::Depth, train, planted::planted_structural(2, 6, 8, 32, 1), cfg),
               ps::InputError);
}
