#include "models/train/lm_data.h"

#include <ATen/ATen.h>

#include "models/util/error.h"

namespace ps::train {

namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
// A uniform double in [0, 1) from the top 53 bits.
double unit(uint64_t x) { return double(x >> 11) * (1.0 / 9007199254740992.0); }
}  // namespace

LmBatch mlm_rows(const LmBatch& rows, const MlmMasking& m, uint64_t seed, int64_t first) {
  if (m.mask_id < 0 || m.mask_id >= m.vocab_size) throw InputError("masked LM: the mask token id is outside the vocabulary");
  const int64_t n = rows.input_ids.size(0), S = rows.input_ids.size(1);
  const auto ids_in = rows.input_ids.contiguous(), tgt_in = rows.targets.contiguous();
  const int64_t* src = ids_in.data_ptr<int64_t>();
  const int64_t* real = tgt_in.data_ptr<int64_t>();  // causal targets: -100 marks validation padding
  LmBatch b;
  b.input_ids = ids_in.clone();
  b.targets = at::full({n, S}, -100, ids_in.options());
  int64_t* ids = b.input_ids.data_ptr<int64_t>();
  int64_t* tgt = b.targets.data_ptr<int64_t>();
  std::vector<bool> special(size_t(m.vocab_size), false);
  for (int32_t t : m.never_mask)
    if (t >= 0 && t < m.vocab_size) special[size_t(t)] = true;
  for (int64_t i = 0; i < n; ++i) {
    // One stream per (seed, global row); three draws per position: select, kind, random token.
    uint64_t row_state = seed ^ 0x4d4c4d5f6d61736bull;  // "MLM_mask"
    row_state = splitmix64(row_state) ^ (uint64_t(first + i) * 0xd1b54a32d192ed03ull);
    for (int64_t t = 0; t < S; ++t) {
      const int64_t o = i * S + t, tok = src[o];
      uint64_t st = row_state ^ (uint64_t(t) * 0x9e3779b97f4a7c15ull);
      const double u_select = unit(splitmix64(st)), u_kind = unit(splitmix64(st));
      const uint64_t r = splitmix64(st);
      if (real[o] == -100 || tok < 0 || tok >= m.vocab_size || special[size_t(tok)] || u_select >= m.prob) continue;
      tgt[o] = tok;
      ++b.n_targets;
      if (u_kind < m.p_mask) ids[o] = m.mask_id;
      else if (u_kind < m.p_mask + m.p_random) ids[o] = int64_t(r % uint64_t(m.vocab_size));
    }
  }
  b.position_ids = rows.position_ids;
  // Block-diagonal causal -> block-diagonal bidirectional: a key in the same document either precedes
  // the query (keep[q,k]) or follows it (keep[k,q]).
  b.attn_mask = at::logical_or(rows.attn_mask, rows.attn_mask.transpose(1, 2));
  return b;
}

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  uint64_t state = seed;
  state = splitmix64(state) ^ (uint64_t(epoch) * 0xd1b54a32d192ed03ull);
  for (int64_t i = n - 1; i > 0; --i) {
    const int64_t j = int64_t(splitmix64(state) % uint64_t(i + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

PackedData::PackedData(std::vector<std::vector<int32_t>> docs, int32_t eos_id, int64_t ctx) : eos_(eos_id), ctx_(ctx) {
  if (ctx < 1) throw InputError("training data: context length must be positive");
  for (auto& d : docs)
    if (!d.empty()) {
      tokens_ += int64_t(d.size()) + 1;
      docs_.push_back(std::move(d));
    }
}

void PackedData::build_stream(const std::vector<int64_t>& order) {
  stream_.clear();
  segment_.clear();
  stream_.reserve(tokens_);
  segment_.reserve(tokens_);
  for (int64_t k = 0; k < int64_t(order.size()); ++k) {
    const auto& d = docs_[order[k]];
    stream_.insert(stream_.end(), d.begin(), d.end());
    stream_.push_back(eos_);
    segment_.insert(segment_.end(), d.size() + 1, int32_t(k));
  }
}

LmBatch PackedData::train_rows(uint64_t seed, int64_t first, int64_t n) {
  const int64_t R = rows_per_epoch();
  if (R == 0) throw InputError("training data: fewer tokens than one row of " + std::to_string(ctx_));
  LmBatch b;
  std::vector<int64_t> ids(n * ctx_), tgt(n * ctx_), pos(n * ctx_), seg(n * ctx_);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t g = first + i, epoch = g / R, row = g % R;
    if (epoch != cached_epoch_ || seed != cached_seed_) {
      build_stream(epoch_order(documents(), seed, epoch));
      cached_epoch_ = epoch;
      cached_seed_ = seed;
    }
    for (int64_t t = 0; t < ctx_; ++t) {
      const int64_t s = row * ctx_ + t, o = i * ctx_ + t;
      ids[o] = stream_[s];
      tgt[o] = stream_[s + 1];
      seg[o] = segment_[s];
      pos[o] = (t > 0 && segment_[s - 1] == segment_[s]) ? pos[o - 1] + 1 : 0;
    }
  }
  auto opts = at::TensorOptions().dtype(at::kLong);
  b.input_ids = at::tensor(ids, opts).view({n, ctx_});
  b.targets = at::tensor(tgt, opts).view({n, ctx_});
  b.position_ids = at::tensor(pos, opts).view({n, ctx_});
  const auto s = at::tensor(seg, opts).view({n, ctx_});
  b.attn_mask = at::logical_and(s.unsqueeze(2).eq(s.unsqueeze(1)),
                                at::ones({ctx_, ctx_}, opts.dtype(at::kBool)).tril().unsqueeze(0));
  b.n_targets = n * ctx_;
  return b;
}

LmBatch PackedData::eval_batch(int64_t first, int64_t n) {
  if (cached_epoch_ != -1) {
    std::vector<int64_t> order(documents());
    for (int64_t i = 0; i < documents(); ++i) order[i] = i;
    build_stream(order);
    cached_epoch_ = -1;
  }
  n = std::max<int64_t>(0, std::min(n, eval_rows() - first));
  LmBatch b;
  std::vector<int64_t> ids(n * ctx_, eos_), tgt(n * ctx_, -100), pos(n * ctx_, 0), seg(n * ctx_, -1);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < ctx_; ++t) {
      const int64_t s = (first + i) * ctx_ + t, o = i * ctx_ + t;
      if (s >= tokens_) break;  // padding: own segment, no target
      ids[o] = stream_[s];
      seg[o] = segment_[s];
      pos[o] = (t > 0 && segment_[s - 1] == segment_[s]) ? pos[o - 1] + 1 : 0;
      if (s + 1 < tokens_) {
        tgt[o] = stream_[s + 1];
        ++b.n_targets;
      }
    }
  auto opts = at::TensorOptions().dtype(at::kLong);
  b.input_ids = at::tensor(ids, opts).view({n, ctx_});
  b.targets = at::tensor(tgt, opts).view({n, ctx_});
  b.position_ids = at::tensor(pos, opts).view({n, ctx_});
  const auto s = at::tensor(seg, opts).view({n, ctx_});
  b.attn_mask = at::logical_and(s.unsqueeze(2).eq(s.unsqueeze(1)),
                                at::ones({ctx_, ctx_}, opts.dtype(at::kBool)).tril().unsqueeze(0));
  return b;
}

std::vector<int64_t> PackedData::token_counts(int64_t vocab_size) const {
  std::vector<int64_t> c(vocab_size, 0);
  auto add = [&](int32_t t) {
    if (t < 0 || t >= vocab_size) throw InputError("training data: token id " + std::to_string(t) + " outside the vocabulary");
    ++c[t];
  };
  for (const auto& d : docs_) {
    for (int32_t t : d) add(t);
    add(eos_);
  }
  return c;
}

}  // namespace ps::train
