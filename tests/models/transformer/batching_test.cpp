// Batched forwards (right-padded, and packed with segment ids + restarted positions) give each
// sequence exactly the states it gets alone.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "models/transformer/masks.h"
#include "models/transformer/transformer.h"
#include "tests/models/transformer/tiny_models.h"

namespace ps::models {
namespace {

using test::Tiny;

const std::vector<std::vector<int64_t>> kSeqs = {
    {3, 9, 4},
    {5, 11, 7, 2, 8, 13, 6, 44, 12, 9, 30, 31, 17, 18, 3, 3, 5, 19, 21, 40, 8, 7, 1, 49, 6, 6, 10, 12},
    {14, 2, 25, 36, 47, 9, 5, 27, 33},
    {42}};

Capture hooks_for(const Transformer& m) {
  Capture c;
  for (const auto& h : {"hidden_states.0", "hidden_states.1", "hidden_states.2", "blocks.0.attn.hook_pattern",
                        "blocks.1.attn.hook_pattern", "blocks.1.hook_mlp_out"})
    c.hooks.insert(h);
  return c;
}

std::map<std::string, at::Tensor> alone(const Transformer& m, const std::vector<int64_t>& ids) {
  ForwardInput in;
  in.input_ids = at::tensor(ids, at::kLong).unsqueeze(0);
  auto o = m.forward(in, hooks_for(m)).hooks;
  for (auto& [k, t] : o) t = t[0];
  return o;
}

void expect_same(const std::map<std::string, at::Tensor>& single, const std::map<std::string, at::Tensor>& batch,
                 int64_t start, int64_t len, const std::string& what) {
  for (const auto& [name, t] : single) {
    const auto& b = batch.at(name);
    const auto piece = t.dim() == 3 ? b.slice(1, start, start + len).slice(2, start, start + len)
                                    : b.slice(0, start, start + len);
    EXPECT_LE((piece - t).abs().max().item<double>(), 1e-4) << what << " " << name << " start=" << start;
  }
}

class BatchingTest : public ::testing::TestWithParam<Tiny> {};

TEST_P(BatchingTest, RightPaddedBatchMatchesOneAtATime) {
  const auto m = Transformer::load(test::write_tiny(GetParam()));
  std::vector<int64_t> lengths;
  int64_t S = 0;
  for (const auto& s : kSeqs) lengths.push_back(int64_t(s.size())), S = std::max<int64_t>(S, s.size());
  const int64_t B = int64_t(kSeqs.size());
  auto ids = at::full({B, S}, 1, at::kLong);  // pad id 1 (RoBERTa's); the mask hides it anyway
  for (int64_t b = 0; b < B; ++b) ids[b].slice(0, 0, lengths[b]).copy_(at::tensor(kSeqs[b], at::kLong));
  const auto seg = segments_from_lengths(lengths, S);
  ForwardInput in;
  in.input_ids = ids;
  in.position_ids = positions_from_segments(seg);
  in.attn_mask = segment_mask(seg, m->arch().causal);
  const auto out = m->forward(in, hooks_for(*m)).hooks;
  for (const auto& [n, t] : out) EXPECT_TRUE(at::isfinite(t).all().item<bool>()) << n;  // padding rows too
  for (int64_t b = 0; b < B; ++b) {
    std::map<std::string, at::Tensor> row;
    for (const auto& [n, t] : out) row[n] = t[b];
    expect_same(alone(*m, kSeqs[b]), row, 0, lengths[b], "padded row " + std::to_string(b));
  }
}

TEST_P(BatchingTest, PackedRowMatchesOneAtATime) {
  const auto m = Transformer::load(test::write_tiny(GetParam()));
  // Two rows: [seq1 | seq3 | pad], [seq2 | seq0 | pad ...] with restarted positions.
  const std::vector<std::vector<int>> rows = {{1, 3}, {2, 0}};
  const int64_t S = 32;
  auto ids = at::zeros({2, S}, at::kLong);
  auto seg = at::full({2, S}, -1, at::kLong);
  std::vector<std::vector<int64_t>> starts(2);
  for (int64_t r = 0; r < 2; ++r) {
    int64_t at_ = 0;
    for (size_t k = 0; k < rows[r].size(); ++k) {
      const auto& s = kSeqs[rows[r][k]];
      ids[r].slice(0, at_, at_ + int64_t(s.size())).copy_(at::tensor(s, at::kLong));
      seg[r].slice(0, at_, at_ + int64_t(s.size())).fill_(int64_t(k) + 5);  // any ids work
      starts[r].push_back(at_);
      at_ += int64_t(s.size());
    }
  }
  ForwardInput in;
  in.input_ids = ids;
  in.position_ids = positions_from_segments(seg);
  in.attn_mask = segment_mask(seg, m->arch().causal);
  const auto out = m->forward(in, hooks_for(*m)).hooks;
  for (int64_t r = 0; r < 2; ++r) {
    std::map<std::string, at::Tensor> row;
    for (const auto& [n, t] : out) row[n] = t[r];
    for (size_t k = 0; k < rows[r].size(); ++k) {
      const auto& s = kSeqs[rows[r][k]];
      expect_same(alone(*m, s), row, starts[r][k], int64_t(s.size()), "packed seq " + std::to_string(rows[r][k]));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Tiny, BatchingTest, ::testing::Values(Tiny::GPT2, Tiny::RoBERTa, Tiny::LLaMA, Tiny::Qwen2),
                         [](const auto& info) { return std::string(test::tiny_name(info.param)); });

}  // namespace
}  // namespace ps::models
