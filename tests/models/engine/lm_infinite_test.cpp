// LM-Infinite (spec shared/specs/interventions.md §1(d)): the banded kernel against a dense masked reference
// written here, the distance-cap identity, per-row support and entropy, and the model-level identities
// (n <= L is the vanilla model bit for bit, G = 0 is a sliding window, cap off with G + L >= n is vanilla,
// learned positions get the Λ shape only), plus a long input that never allocates an n×n block.
#include <gtest/gtest.h>
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/CPUAllocator.h>

#include <atomic>
#include <cmath>
#include <random>

#include "models/transformer/detail/lambda_attention.h"
#include "models/transformer/detail/packed_attention.h"
#include "models/transformer/detail/rotary.h"
#include "models/transformer/engine.h"
#include "models/util/error.h"

using namespace ps::models;

namespace {

ArchSpec tiny(Family f, int64_t max_positions = 128) {
  ArchSpec a;
  a.family = f;
  a.vocab_size = 97, a.d_model = 32, a.n_layers = 2, a.n_heads = 4, a.n_kv_heads = 4, a.head_dim = 8, a.d_ff = 64;
  a.max_positions = a.max_position_embeddings = max_positions;
  if (f == Family::GPT2) {
    a.model_type = "gpt2";
  } else {
    a.model_type = "llama", a.norm = NormKind::RMSNorm, a.activation = Activation::Silu;
    a.positional = PositionalKind::Rotary, a.n_kv_heads = 2, a.qkv_bias = a.o_bias = a.mlp_bias = false;
    a.tie_word_embeddings = false;
  }
  return a;
}

std::vector<std::vector<int32_t>> tokens(std::vector<int> lengths, unsigned seed = 3) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> tok(3, 96);
  std::vector<std::vector<int32_t>> out;
  for (int n : lengths) {
    out.emplace_back(n);
    for (auto& t : out.back()) t = tok(rng);
  }
  return out;
}

Capture states(const Transformer& m, bool patterns = false) {
  Capture c;
  for (int l = 0; l <= m.arch().n_layers; ++l) c.hooks.insert(m.hidden_state_hook(l));
  if (patterns) c.hooks.insert("blocks.0.attn.hook_pattern"), c.hooks.insert("blocks.1.attn.hook_pattern");
  return c;
}

std::vector<SequenceStates> run(const std::shared_ptr<Transformer>& model, const std::vector<std::vector<int32_t>>& seqs,
                                const std::string& mask, const Capture& cap, Packing packing = Packing::Prepacked) {
  EngineOptions o;
  o.threads = 1, o.mask = mask, o.packing = packing, o.token_budget = 256;
  return Engine(model, o).run(seqs, cap);
}

double max_diff(const std::vector<SequenceStates>& a, const std::vector<SequenceStates>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i)
    for (const auto& [name, t] : a[i].hooks) m = std::max(m, (t - b[i].hooks.at(name)).abs().max().item<double>());
  return m;
}

bool bit_equal(const std::vector<SequenceStates>& a, const std::vector<SequenceStates>& b) {
  for (size_t i = 0; i < a.size(); ++i)
    for (const auto& [name, t] : a[i].hooks)
      if (!at::equal(t, b[i].hooks.at(name))) return false;
  return true;
}

// ---- the kernel on one packed batch of random q, k, v -------------------------------------------------

const int64_t kHeads = 2, kHd = 8;

struct Batch {
  std::vector<int64_t> lengths;
  at::Tensor q, k, v, cos, sin;  // q, k before RoPE, [T, heads, hd]; cos/sin [T, hd] at positions 0..len-1
};

Batch random_batch(const std::vector<int64_t>& lengths, uint64_t seed) {
  Batch b;
  b.lengths = lengths;
  int64_t T = 0;
  std::vector<int64_t> pos;
  for (int64_t n : lengths)
    for (int64_t i = 0; i < n; ++i) pos.push_back(i), ++T;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  b.q = at::randn({T, kHeads, kHd}, gen), b.k = at::randn({T, kHeads, kHd}, gen), b.v = at::randn({T, kHeads, kHd}, gen);
  ArchSpec a = tiny(Family::LLaMA);
  a.head_dim = kHd;
  std::tie(b.cos, b.sin) = rope_cos_sin(a, at::tensor(pos, at::kLong), at::kFloat);
  return b;
}

// The kernel's context [T, heads·hd] and one full [heads, len, len] pattern per sequence.
std::pair<at::Tensor, std::vector<at::Tensor>> banded(const Batch& b, const LmInfinite& lm, int64_t first_row = 0,
                                                      int64_t rows = 0) {
  auto plan = plan_packed_attention(b.lengths, kHeads, {}, at::kCPU, lm);
  plan.pattern_first_row = first_row, plan.pattern_rows = rows;
  const auto o = lambda_operands(b.q, b.k, b.cos, b.sin, b.lengths, lm);
  std::vector<at::Tensor> patterns;
  auto ctx = packed_attention(o.qr, o.kr, b.v, plan, 1.0 / std::sqrt(double(kHd)), &patterns, o.qg, o.kg);
  return {ctx, patterns};
}

// q or k of one sequence's token rotated to an arbitrary position p, with the same tables.
at::Tensor rotated(const at::Tensor& x, int64_t p) {
  ArchSpec a = tiny(Family::LLaMA);
  a.head_dim = kHd;
  const auto [c, s] = rope_cos_sin(a, at::tensor({p}, at::kLong), at::kFloat);
  return apply_rope(x.unsqueeze(0), c, s)[0];  // [heads, hd]
}

// Dense masked reference, written from the spec's definition rather than from the kernel: (i, j) is in the
// local band when 0 <= i-j <= L-1 (ordinary RoPE), in the global branch when j < G and i-j >= L (query at
// min(limit, i), key unrotated; without a cap ordinary RoPE), masked otherwise.
std::pair<at::Tensor, at::Tensor> dense_reference(const Batch& b, int64_t off, int64_t n, const LmInfinite& lm) {
  const double scale = 1.0 / std::sqrt(double(kHd));
  auto scores = at::full({kHeads, n, n}, -std::numeric_limits<double>::infinity(), at::kDouble);
  for (int64_t i = 0; i < n; ++i) {
    const auto qi = rotated(b.q[off + i], i);
    for (int64_t j = 0; j <= i; ++j) {
      at::Tensor logit;
      if (i - j < lm.local) logit = (qi * rotated(b.k[off + j], j)).sum(-1);
      else if (j < lm.n_global)
        logit = lm.limit > 0 ? (rotated(b.q[off + i], std::min(lm.limit, i)) * b.k[off + j]).sum(-1)
                             : (qi * rotated(b.k[off + j], j)).sum(-1);
      else continue;
      scores.select(1, i).select(1, j).copy_(logit.to(at::kDouble) * scale);
    }
  }
  const auto probs = at::softmax(scores, -1);
  const auto ctx = at::matmul(probs, b.v.slice(0, off, off + n).transpose(0, 1).to(at::kDouble));  // [h, n, hd]
  return {ctx.transpose(0, 1).reshape({n, kHeads * kHd}).to(at::kFloat), probs.to(at::kFloat)};
}

TEST(LmInfiniteKernel, BandedEqualsADenseMaskedReference) {
  // L = 4, G = 2: n < L, n = L, n not a multiple of L, n = G + L + 1, several blocks; packed in one batch.
  const std::vector<int64_t> lengths = {3, 4, 11, 7, 17, 1};
  const auto b = random_batch(lengths, 7);
  for (int64_t limit : {4, 6, 0}) {
    const LmInfinite lm{2, 4, limit};
    const auto [ctx, patterns] = banded(b, lm);
    int64_t off = 0;
    for (size_t s = 0; s < lengths.size(); ++s) {
      const int64_t n = lengths[s];
      const auto [want_ctx, want_p] = dense_reference(b, off, n, lm);
      EXPECT_LE((ctx.slice(0, off, off + n) - want_ctx).abs().max().item<double>(), 1e-5) << "n " << n << " limit " << limit;
      EXPECT_LE((patterns[s] - want_p).abs().max().item<double>(), 1e-6) << "n " << n << " limit " << limit;
      off += n;
    }
  }
}

TEST(LmInfiniteKernel, GlobalLogitIsTheKeyRotatedToIMinusL) {
  // Identity 4: the unrotated key scored by a query rotated by L equals <R_i q_i, R_(i-L) k_j>. Compared through
  // logit differences against the query's own (local) key, which the softmax preserves.
  const int64_t G = 3, L = 4, n = 13;
  const auto b = random_batch({n}, 11);
  const auto [ctx, patterns] = banded(b, {G, L, L});
  const auto logp = patterns[0].log();
  const double scale = 1.0 / std::sqrt(double(kHd));
  int checked = 0;
  for (int64_t i = L; i < n; ++i) {
    const auto qi = rotated(b.q[i], i);
    const auto self = (qi * rotated(b.k[i], i)).sum(-1) * scale;
    for (int64_t j = 0; j < G && i - j >= L; ++j) {
      const auto want = (qi * rotated(b.k[j], i - L)).sum(-1) * scale - self;
      const auto got = logp.select(1, i).select(1, j) - logp.select(1, i).select(1, i);
      EXPECT_LE((got - want).abs().max().item<double>(), 1e-4) << "i " << i << " j " << j;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 3 * (n - L) - 3);  // (i=L: j=0) + (i=L+1: j=0,1) + 3 per later query
}

TEST(LmInfiniteKernel, EachRowSeesMinIPlusOneOrGPlusLKeysAndItsEntropyIsCapped) {
  const int64_t G = 3, L = 5, n = 29;
  const auto b = random_batch({n}, 5);
  const auto [ctx, patterns] = banded(b, {G, L, L});
  const auto p = patterns[0];  // [h, n, n]
  for (int64_t i = 0; i < n; ++i) {
    const int64_t support = std::min<int64_t>(i + 1, G + L);
    const auto row = p.select(1, i);
    EXPECT_TRUE(at::equal((row > 0).sum(-1), at::full({kHeads}, support, at::kLong))) << "query " << i;
    const auto entropy = -(row * row.clamp_min(1e-30).log()).sum(-1);
    EXPECT_LE(entropy.max().item<double>(), std::log(double(support)) + 1e-5) << "query " << i;
    EXPECT_LE((row.sum(-1) - 1).abs().max().item<double>(), 1e-5);
  }
}

TEST(LmInfiniteKernel, PatternRowsComeBackBandByBand) {
  const std::vector<int64_t> lengths = {23, 9};
  const auto b = random_batch(lengths, 9);
  const LmInfinite lm{2, 4, 4};
  const auto [ctx, full] = banded(b, lm);
  const auto [ctx2, band] = banded(b, lm, 6, 5);
  EXPECT_TRUE(at::equal(ctx, ctx2));  // asking for fewer rows changes nothing else
  EXPECT_EQ(band[0].sizes(), (at::IntArrayRef{kHeads, 5, 23}));
  EXPECT_TRUE(at::equal(band[0], full[0].slice(1, 6, 11)));
  EXPECT_EQ(band[1].sizes(), (at::IntArrayRef{kHeads, 3, 9}));  // clipped to the sequence
  EXPECT_TRUE(at::equal(band[1], full[1].slice(1, 6, 9)));
}

// ---- the model ----------------------------------------------------------------------------------------

TEST(LmInfiniteModel, SequencesWithinTheWindowAreTheVanillaModelBitForBit) {
  const auto seqs = tokens({1, 3, 8, 5, 8});
  for (Family f : {Family::LLaMA, Family::GPT2}) {
    auto model = Transformer::random_init(tiny(f), 4);
    auto cap = states(*model, true);
    cap.logits = true;
    const auto vanilla = run(model, seqs, "default", cap);
    for (const char* mask : {"lm-infinite:0:8", "lm-infinite:2:8", "lm-infinite:16:8:12", "lm-infinite:3:9:none"})
      EXPECT_TRUE(bit_equal(run(model, seqs, mask, cap), vanilla)) << family_name(f) << " " << mask;
  }
  // The identity condition is n <= L: past the window a far key is scored at the capped distance (8 - 1 > 6).
  auto llama = Transformer::random_init(tiny(Family::LLaMA), 4);
  EXPECT_GT(max_diff(run(llama, seqs, "lm-infinite:16:6", states(*llama)), run(llama, seqs, "default", states(*llama))), 1e-4);
}

TEST(LmInfiniteModel, DistanceCapOffWithEnoughGlobalKeysIsVanilla) {
  // L = 5 < n <= G + L: every key is visible. Without the cap that is vanilla attention; with it (rotary only)
  // the far keys are scored at distance L, so the output differs (the spec's pitfall: identity is n <= L).
  const auto seqs = tokens({20, 13, 7, 21});
  auto llama = Transformer::random_init(tiny(Family::LLaMA), 6);
  const auto cap = states(*llama);
  const auto vanilla = run(llama, seqs, "default", cap);
  EXPECT_LE(max_diff(run(llama, seqs, "lm-infinite:16:5:none", cap), vanilla), 1e-5);
  EXPECT_GT(max_diff(run(llama, seqs, "lm-infinite:16:5", cap), vanilla), 1e-3);
  // Learned absolute positions have no rotary distance to cap: the Λ shape alone, so vanilla again.
  auto gpt2 = Transformer::random_init(tiny(Family::GPT2), 6);
  const auto gcap = states(*gpt2);
  EXPECT_LE(max_diff(run(gpt2, seqs, "lm-infinite:16:5", gcap), run(gpt2, seqs, "default", gcap)), 1e-5);
}

TEST(LmInfiniteModel, NoGlobalKeysIsASlidingWindow) {
  const auto seqs = tokens({30, 6, 17, 2, 25});
  for (Family f : {Family::LLaMA, Family::GPT2}) {
    auto model = Transformer::random_init(tiny(f), 8);
    const auto cap = states(*model, true);
    // the window runs padded with a dense [B,S,S] mask: a second, independent path
    const auto window = run(model, seqs, "window:6", cap, Packing::Padded);
    EXPECT_LE(max_diff(run(model, seqs, "lm-infinite:0:6", cap), window), 1e-5) << family_name(f);
    EXPECT_LE(max_diff(run(model, seqs, "lm-infinite:0:6:none", cap, Packing::SortedPadded), window), 1e-5) << family_name(f);
  }
}

TEST(LmInfiniteModel, LearnedPositionsWithAWindowOfOneAttendOnlyToThemselves) {
  auto gpt2 = Transformer::random_init(tiny(Family::GPT2), 2);
  const auto seqs = tokens({12, 5});
  const auto out = run(gpt2, seqs, "lm-infinite:0:1", states(*gpt2, true));
  for (size_t s = 0; s < seqs.size(); ++s)
    for (const char* hook : {"blocks.0.attn.hook_pattern", "blocks.1.attn.hook_pattern"}) {
      const auto p = out[s].hooks.at(hook);
      const auto n = int64_t(seqs[s].size());
      EXPECT_TRUE(at::equal(p, at::eye(n, at::kFloat).unsqueeze(0).expand({4, n, n}))) << hook;
    }
}

TEST(LmInfiniteModel, EngineReturnsTheRowsAskedForOnEveryPath) {
  auto model = Transformer::random_init(tiny(Family::LLaMA), 12);
  const auto seqs = tokens({40, 9, 26});
  Capture all;
  all.hooks.insert("blocks.1.attn.hook_pattern");
  Capture band = all;
  band.pattern_first_row = 20, band.pattern_rows = 8;
  for (const char* mask : {"lm-infinite:2:6", "default"})
    for (Packing p : {Packing::Prepacked, Packing::Padded}) {
      const auto full = run(model, seqs, mask, all, p), part = run(model, seqs, mask, band, p);
      for (size_t s = 0; s < seqs.size(); ++s) {
        const auto n = int64_t(seqs[s].size());
        const auto want = full[s].hooks.at("blocks.1.attn.hook_pattern").slice(1, std::min<int64_t>(20, n), std::min<int64_t>(28, n));
        EXPECT_TRUE(at::equal(part[s].hooks.at("blocks.1.attn.hook_pattern"), want)) << mask << " seq " << s;
      }
    }
}

// Records the largest single CPU allocation while installed (thread-safe: the attention tasks run in OpenMP).
class LargestAllocation : public c10::Allocator {
 public:
  LargestAllocation() : base_(c10::GetCPUAllocator()) { c10::SetCPUAllocator(this); }
  ~LargestAllocation() override { c10::SetCPUAllocator(base_); }
  c10::DataPtr allocate(size_t n) const override {
    size_t seen = largest_.load();
    while (n > seen && !largest_.compare_exchange_weak(seen, n)) {
    }
    return base_->allocate(n);
  }
  c10::DeleterFnPtr raw_deleter() const override { return base_->raw_deleter(); }
  size_t largest() const { return largest_.load(); }

 private:
  c10::Allocator* base_;
  mutable std::atomic<size_t> largest_{0};
};

TEST(LmInfiniteModel, ALongInputNeverAllocatesAnNByNBlock) {
  const int64_t n = 4096;
  auto model = Transformer::random_init(tiny(Family::LLaMA, n), 1);
  const auto seqs = tokens({int(n)});
  Capture cap;
  cap.hooks.insert("hidden_states.2");
  cap.logits = true;
  EngineOptions o;
  o.threads = 2, o.mask = "lm-infinite:4:64", o.token_budget = n;
  size_t largest = 0;
  std::vector<SequenceStates> out;
  {
    LargestAllocation probe;
    out = Engine(model, o).run(seqs, cap);
    largest = probe.largest();
  }
  // The smallest n×n tensor would be a bool mask of n² bytes (16.8 MB); the largest block measured here is 4.2 MB.
  EXPECT_LT(largest, size_t(n * n)) << largest;
  RecordProperty("largest_allocation_bytes", std::to_string(largest));
  EXPECT_GT(largest, size_t(0));
  EXPECT_TRUE(at::isfinite(out[0].hooks.at("hidden_states.2")).all().item<bool>());
  {  // the probe can see an n×n block: the dense plan of the default mask builds one
    LargestAllocation probe;
    const auto plan = plan_packed_attention({n}, 4, [](const at::Tensor& seg) { return seg.unsqueeze(2) == seg.unsqueeze(1); }, at::kCPU);
    EXPECT_GE(probe.largest(), size_t(n * n));
  }
}

TEST(LmInfiniteModel, LimitBelowTheWindowIsAOneLineInputError) {
  auto model = Transformer::random_init(tiny(Family::LLaMA), 1);
  EngineOptions o;
  o.mask = "lm-infinite:4:16:8";
  try {
    Engine engine(model, o);
    FAIL() << "accepted a cap below the window";
  } catch (const ps::InputError& e) {
    EXPECT_EQ(std::string(e.what()), "--mask 'lm-infinite:4:16:8': '8' is not an integer >= 16");
  }
}

}  // namespace

// Under a RoPE scaling with an attention factor m (yarn, longrope multiply cos and sin by m) every logit is scaled
// by m², the capped far-key logits included: the "unrotated" key is the key rotated by position 0.
TEST(LmInfiniteKernel, FarKeysCarryTheScalingsAttentionFactorLikeEveryOtherKey) {
  const int64_t n = 12, H = 2, hd = 8;
  at::manual_seed(7);
  const auto q = at::randn({n, H, hd}), k = at::randn({n, H, hd});
  ArchSpec a = tiny(Family::LLaMA);
  a.head_dim = hd;
  const auto [cos, sin] = rope_cos_sin(a, at::arange(n, at::kLong), at::kFloat, {n});
  const double m = 1.25;
  const LmInfinite lm{2, 4, 4};
  const auto plain = lambda_operands(q, k, cos, sin, {n}, lm);
  const auto scaled = lambda_operands(q, k, cos * m, sin * m, {n}, lm);
  auto logits = [](const at::Tensor& x, const at::Tensor& y) { return at::einsum("thd,shd->hts", {x, y}); };
  EXPECT_TRUE(at::allclose(logits(scaled.qr, scaled.kr), m * m * logits(plain.qr, plain.kr), 1e-4, 1e-5));
  EXPECT_TRUE(at::allclose(logits(scaled.qg, scaled.kg), m * m * logits(plain.qg, plain.kg), 1e-4, 1e-5));
  EXPECT_TRUE(at::allclose(plain.kg, k, 1e-6, 1e-6));  // without a factor: the key itself
}
