// Fine-tuning proofs on a tiny model (2,768 + 34 parameters): the subspace chain rule equals autograd
// through the dense projection; on a separable task d >= D reaches full fine-tuning, d = 1 does clearly
// worse; the same seed reproduces a run exactly.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <map>

#include "analysis/said/finetune.h"
#include "models/util/error.h"
#include "tests/analysis/said/said_fixtures.h"

namespace ps::said {
namespace {

// Loss of the classifier with θ given tensor by tensor (base tensors by name, head last two).
at::Tensor loss_with(const models::Transformer& model, const Named& theta0, const std::vector<at::Tensor>& w,
                     const Batch& batch) {
  std::map<std::string, at::Tensor> replaced;
  for (size_t i = 0; i + 2 < w.size(); ++i) replaced[theta0[i].first] = w[i];
  const auto m = model.with_changes(model.arch(), replaced);
  const auto logits = classify(*m, w[w.size() - 2], w.back(), batch, Pool::Mean, true);
  return at::nll_loss(at::log_softmax(logits, -1), batch.labels);
}

TEST(Subspace, ChainRuleEqualsAutogradThroughDenseProjection) {
  const auto model = test::tiny_model();
  const auto data = test::marker_task(12, 2);
  std::vector<size_t> all(data.train.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  const auto batch = make_batch(data.train, all, true, at::kCPU);
  const Named theta0 = initial_theta(*model, 2, 5);
  const int64_t d = 40;
  Subspace sub(theta0, d, 17);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  const auto theta_d = at::empty({d}).normal_(0.0, 0.3, gen);
  const auto lambda = at::empty({int64_t(theta0.size())}).uniform_(0.5, 1.5, gen);

  // Library path: one backward to ∂L/∂θ_t, then the transposed Fastfood.
  std::vector<at::Tensor> delta;
  auto w = sub.weights(theta_d, lambda, &delta);
  for (auto& t : w) t.requires_grad_(true);
  loss_with(*model, theta0, w, batch).backward();
  std::vector<at::Tensor> gw;
  for (auto& t : w) gw.push_back(t.grad());
  at::Tensor g_lambda;
  const auto g_theta = sub.backward(gw, delta, lambda, &g_lambda);

  // Reference: P_t as dense columns P_t e_j, and autograd through θ_t = θ0_t + λ_t P_t θ_d.
  auto td = theta_d.clone().requires_grad_(true), lam = lambda.clone().requires_grad_(true);
  std::vector<at::Tensor> wr;
  for (size_t t = 0; t < theta0.size(); ++t) {
    std::vector<at::Tensor> cols;
    for (int64_t j = 0; j < d; ++j) cols.push_back(sub.projection().project(t, at::one_hot(at::tensor({j}), d).view({d}).to(at::kFloat)).flatten());
    const auto P = at::stack(cols, 1);  // [D_t, d]
    wr.push_back(theta0[t].second + lam[int64_t(t)] * P.matmul(td).view(theta0[t].second.sizes()));
  }
  loss_with(*model, theta0, wr, batch).backward();
  EXPECT_TRUE(at::allclose(g_theta, td.grad(), 1e-4, 1e-6)) << (g_theta - td.grad()).abs().max();
  EXPECT_TRUE(at::allclose(g_lambda, lam.grad(), 1e-4, 1e-6)) << (g_lambda - lam.grad()).abs().max();
  EXPECT_GT(g_theta.abs().max().item<double>(), 1e-6);
}

struct Separable : ::testing::Test {
  static void SetUpTestSuite() {
    model_ = test::tiny_model();
    data_ = new TaskData(test::marker_task(1024, 256));
    FinetuneOptions o;
    o.mode = Mode::Full;
    o.steps = 200, o.batch = 32, o.lr = 0.03;
    full_ = new RunResult(finetune(model_, *data_, o));
  }
  static void TearDownTestSuite() {
    delete data_;
    delete full_;
    model_.reset();
  }
  static RunResult subspace(Mode mode, int64_t d, uint64_t seed = 123, int64_t steps = 200) {
    FinetuneOptions o;
    o.mode = mode, o.d = d, o.seed = seed;
    o.steps = steps, o.batch = 32, o.lr = 0.064;  // θ_d's Adam rate lr/√d: 1e-3 at d = 4096
    return finetune(model_, *data_, o);
  }
  static std::shared_ptr<const models::Transformer> model_;
  static TaskData* data_;
  static RunResult* full_;
};
std::shared_ptr<const models::Transformer> Separable::model_;
TaskData* Separable::data_ = nullptr;
RunResult* Separable::full_ = nullptr;

TEST_F(Separable, FullFineTuningSolvesTheTask) {
  EXPECT_EQ(full_->theta_size, 2768 + 34);
  EXPECT_EQ(full_->trainable, full_->theta_size);
  EXPECT_LT(full_->initial_valid_acc, 0.75);
  EXPECT_GE(full_->valid_acc, 0.97);
}

TEST_F(Separable, DAtLeastParameterCountReachesFullAccuracy) {
  for (Mode mode : {Mode::DID, Mode::SAID}) {
    const auto r = subspace(mode, 4096);
    const int64_t m = int64_t(initial_theta(*model_, 2, 1).size());  // 16 model tensors + the head's 2
    EXPECT_EQ(m, 18);
    EXPECT_EQ(r.trainable, 4096 + (mode == Mode::SAID ? m : 0)) << mode_name(mode);
    EXPECT_GE(r.valid_acc, full_->valid_acc - 0.03) << mode_name(mode);
  }
}

// DID with d = 1 has one trainable number (the head included); SAID adds the 18 λ's and gets further.
TEST_F(Separable, TinyDDoesClearlyWorse) {
  EXPECT_LE(subspace(Mode::DID, 1).best_valid_acc, full_->valid_acc - 0.3);
  EXPECT_LE(subspace(Mode::SAID, 1).best_valid_acc, full_->valid_acc - 0.15);
}

TEST_F(Separable, SameSeedSameRunOtherSeedOtherRun) {
  const auto a = subspace(Mode::SAID, 64, 5, 40), b = subspace(Mode::SAID, 64, 5, 40), c = subspace(Mode::SAID, 64, 6, 40);
  EXPECT_EQ(a.losses, b.losses);
  EXPECT_EQ(a.valid_acc, b.valid_acc);
  EXPECT_NE(a.losses, c.losses);
}

TEST_F(Separable, DirectHeadCountsAndCancel) {
  FinetuneOptions o;
  o.mode = Mode::DID, o.d = 10, o.head = Head::Direct, o.steps = 5;
  const auto r = finetune(model_, *data_, o);
  EXPECT_EQ(r.trainable, 10 + 34);
  EXPECT_EQ(r.steps, 5);
  Progress p("test", 5, "steps", false);
  p.cancel();
  const auto c = finetune(model_, *data_, o, &p);
  EXPECT_TRUE(c.cancelled);
  EXPECT_EQ(c.steps, 0);
  o.steps = 0;
  EXPECT_THROW(finetune(model_, *data_, o), InputError);
}

}  // namespace
}  // namespace ps::said
