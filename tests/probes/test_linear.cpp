// Linear probe and control task on planted token labels.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "models/util/error.h"
#include "probes/linear.h"

using namespace ps::probes;

namespace {
// Labels are linearly encoded (label mean + unit noise); word types are drawn independently, so a
// control task over types has nothing to read from the vectors.
TokenDataset planted_tokens(int n, uint64_t seed) {
  const int dim = 32, L = 5, types = 40;
  std::mt19937_64 means_rng(1234);
  std::normal_distribution<double> g(0.0, 1.0);
  std::vector<double> means(static_cast<size_t>(L) * dim);
  for (auto& m : means) m = 1.5 * g(means_rng);
  std::mt19937_64 rng(seed);
  TokenDataset ds;
  ds.dim = dim;
  ds.n_labels = L;
  for (int i = 0; i < n; ++i) {
    const int32_t y = static_cast<int32_t>(rng() % L);
    ds.labels.push_back(y);
    ds.word_types.push_back(static_cast<int32_t>(rng() % types));
    for (int k = 0; k < dim; ++k) ds.vectors.push_back(static_cast<float>(means[y * dim + k] + g(rng)));
  }
  return ds;
}
}  // namespace

TEST(LinearProbe, LearnsPlantedLabelsAndSelectivityIsHigh) {
  const TokenDataset train = planted_tokens(3000, 1), valid = planted_tokens(500, 2), test = planted_tokens(1000, 3);
  LinearConfig cfg;
  cfg.seed = 7;
  cfg.threads = 1;  // tiny batches: a second OpenMP thread only adds sync cost on a busy machine
  cfg.lr = 1e-2;
  cfg.steps_per_epoch = 0;  // one pass per epoch
  const LinearFit fit = train_linear_probe(train, valid, cfg);
  const double acc = accuracy(predict_linear(fit.probe, test), test.labels);
  const Selectivity s = linear_selectivity(train, valid, test, cfg, 99);
  std::printf("[ planted ] accuracy %.4f, control accuracy %.4f, selectivity %.4f\n", acc, s.control_accuracy,
              s.selectivity());
  EXPECT_GE(acc, 0.95);
  EXPECT_DOUBLE_EQ(s.task_accuracy, acc);
  EXPECT_LT(s.control_accuracy, 0.5);
  EXPECT_GT(s.selectivity(), 0.5);
  LinearConfig l2 = cfg;
  l2.l2 = 1.0;  // heavy penalty still leaves a separable problem solvable
  EXPECT_GE(accuracy(predict_linear(train_linear_probe(train, valid, l2).probe, test), test.labels), 0.8);
}

TEST(LinearProbe, ControlTaskIsAFunctionOfTypeAndFollowsTheLabelDistribution) {
  std::vector<int32_t> ref(1000, 0);
  for (int i = 0; i < 250; ++i) ref[i] = 1;  // 75% label 0, 25% label 1
  const ControlTask c(ref, 3, 5), same(ref, 3, 5), other(ref, 3, 6);
  int ones = 0, differ = 0;
  for (int32_t t = 0; t < 4000; ++t) {
    EXPECT_EQ(c.label(t), same.label(t));
    EXPECT_NE(c.label(t), 2);  // never seen in the reference labels
    ones += c.label(t) == 1;
    differ += c.label(t) != other.label(t);
  }
  EXPECT_NEAR(ones / 4000.0, 0.25, 0.03);
  EXPECT_GT(differ, 500);
  EXPECT_EQ(c.relabel({3, 3, 8}), (std::vector<int32_t>{c.label(3), c.label(3), c.label(8)}));
  EXPECT_THROW(ControlTask({5}, 3, 1), ps::InputError);
}

TEST(LinearProbe, RejectsBadInputAndIsDeterministic) {
  TokenDataset bad = planted_tokens(10, 1);
  bad.labels[3] = 9;
  LinearConfig cfg;
  cfg.max_epochs = 2;
  cfg.steps_per_epoch = 0;
  EXPECT_THROW(train_linear_probe(bad, bad, cfg), ps::InputError);
  const TokenDataset d = planted_tokens(300, 4);
  EXPECT_EQ(train_linear_probe(d, d, cfg).probe.W, train_linear_probe(d, d, cfg).probe.W);
}
