// --prune and --decompose (spec interventions.md §6, §7): exact-count masks, global thresholds, untouched
// tensors, determinism, the planted low-rank + sparse recovery (§7(d).1), and whole tiny models written in
// the HF layout that load and run.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <set>
#include <nlohmann/json.hpp>

#include "models/intervene/decompose.h"
#include "models/intervene/intervene.h"
#include "models/intervene/prune.h"
#include "models/safetensors/safetensors.h"
#include "models/transformer/transformer.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "tests/common/scratch.h"
#include "tests/models/transformer/tiny_models.h"

namespace {

namespace fs = std::filesystem;
using namespace ps::models;
using ps::test::Tiny;

void expect_input_error(const std::function<void()>& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error, expected " << part;
  } catch (const ps::InputError& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

TEST(SparsitySpec, ParsesAndRefuses) {
  const auto p = parse_prune_spec("random:sparsity=0.75,scope=global,filter=attn,mlp,seed=9");
  EXPECT_EQ(p.method, PruneSpec::Method::Random);
  EXPECT_DOUBLE_EQ(p.sparsity, 0.75);
  EXPECT_TRUE(p.global && p.filter.attn && p.filter.mlp);
  EXPECT_EQ(p.seed, 9u);
  const auto q = parse_prune_spec("magnitude:filter=mlp,sparsity=0");
  EXPECT_TRUE(!q.filter.attn && q.filter.mlp && !q.global);
  for (const char* bad : {"magnitude:sparsity=1", "magnitude:sparsity=-0.1", "magnitude:sparsity=1.5", "magnitude",
                          "magnitude:scope=layer", "magnitude:sparsity=0.5,filter=emb", "magnitude:sparsity=0.5,size=3",
                          "magnitude:sparsity=0.5,global", "topk:sparsity=0.5", "magnitude:sparsity=x",
                          "magnitude:sparsity=0.5,scope=block", "magnitude:sparsity=0.5,sparsity=0.6"})
    expect_input_error([&] { parse_prune_spec(bad); }, "--prune");
  const auto d = parse_decompose_spec("lowrank+sparse:rank=8,nnz=16,filter=attn,iters=10,threshold=0.5");
  EXPECT_EQ(d.rank, 8);
  EXPECT_EQ(d.nnz, 16);
  EXPECT_TRUE(d.filter.attn && !d.filter.mlp);
  EXPECT_EQ(d.iters, 10);
  for (const char* bad : {"lowrank+sparse:rank=0,nnz=4", "lowrank+sparse:rank=-2,nnz=4", "lowrank+sparse:rank=4,nnz=-1",
                          "lowrank+sparse:rank=4", "lowrank:rank=4,nnz=1", "lowrank+sparse:rank=4,nnz=1,filter=norm",
                          "lowrank+sparse:rank=4,nnz=1,alpha=2", "lowrank+sparse:rank=4,nnz=1,threshold=-1"})
    expect_input_error([&] { parse_decompose_spec(bad); }, "--decompose");
  EXPECT_EQ(matrix_group("blocks.3.attn.qkv.weight"), "attn");
  EXPECT_EQ(matrix_group("blocks.0.mlp.gate.weight"), "mlp");
  for (const char* no : {"blocks.0.attn.q.bias", "blocks.0.ln1.weight", "embed.tokens", "unembed.weight", "mlm.dense.weight",
                         "blocks.0.mlp.q.weight"})
    EXPECT_FALSE(matrix_group(no)) << no;
}

TEST(PruneMask, ExactCountsWhateverTheScores) {
  at::manual_seed(3);
  for (double s : {0.0, 0.1, 0.5, 0.75, 0.9, 0.999}) {
    const std::vector<at::Tensor> scores = {at::rand({7, 13}), at::ones({5, 5}), at::randint(0, 3, {40}).to(at::kFloat)};
    const auto masks = lowest_score_masks(scores, s, false);
    for (size_t i = 0; i < scores.size(); ++i) {
      EXPECT_EQ(masks[i].sizes(), scores[i].sizes());
      EXPECT_EQ(masks[i].numel() - masks[i].sum().item<int64_t>(), pruned_count(scores[i].numel(), s)) << s << " " << i;
      // The pruned scores are the lowest ones.
      if (masks[i].logical_not().any().item<bool>() && masks[i].any().item<bool>())
        EXPECT_LE(scores[i].masked_select(masks[i].logical_not()).max().item<float>(),
                  scores[i].masked_select(masks[i]).min().item<float>());
    }
    double thr = 0;
    const auto g = lowest_score_masks(scores, s, true, &thr);
    int64_t total = 0, kept = 0;
    for (size_t i = 0; i < g.size(); ++i) total += g[i].numel(), kept += g[i].sum().item<int64_t>();
    EXPECT_EQ(total - kept, pruned_count(total, s));
  }
  EXPECT_EQ(pruned_count(10, 0.25), 3);  // round half away from zero: 2.5 -> 3
  // Random scores come from their own generator: same seed, same scores; the global generator is untouched.
  at::manual_seed(1);
  const auto before = at::rand({3});
  at::manual_seed(1);
  const auto a = random_scores({4, 4}, 17), b = random_scores({4, 4}, 17);
  EXPECT_TRUE(at::equal(a, b));
  EXPECT_FALSE(at::equal(a, random_scores({4, 4}, 18)));
  EXPECT_TRUE(at::equal(at::rand({3}), before));
  EXPECT_NE(tensor_seed(0, "a"), tensor_seed(0, "b"));
  EXPECT_NE(tensor_seed(0, "a"), tensor_seed(1, "a"));
}

std::map<std::string, at::Tensor> weights_of(const std::string& dir) {
  const auto f = ps::st::File::open(dir + "/model.safetensors");
  std::map<std::string, at::Tensor> out;
  for (const auto& n : f.names()) {
    const auto& t = f.at(n);
    auto x = at::empty(t.shape, at::kFloat);
    std::memcpy(x.data_ptr(), t.data, t.nbytes);
    out[n] = x;
  }
  return out;
}

std::string bytes_of(const ps::st::File& f, const std::string& n) {
  return std::string(reinterpret_cast<const char*>(f.at(n).data), f.at(n).nbytes);
}

at::Tensor logits_of(const std::string& dir) {
  const auto m = Transformer::load(dir);
  ForwardInput in;
  std::vector<int64_t> ids;
  for (int i = 0; i < 12; ++i) ids.push_back((i * 7 + 3) % ps::test::kTinyVocab);
  in.input_ids = at::tensor(ids, at::kLong).unsqueeze(0);
  Capture c;
  c.logits = true;
  return m->forward(in, c).logits;
}

struct Pruned {
  std::string src, out;
  nlohmann::json record;
};
Pruned prune_tiny(Tiny kind, const std::string& spec, const std::string& tag) {
  const auto dir = ps::test::scratch_dir(tag);
  InterveneOptions o;
  o.model_dir = (dir / "src").string();
  o.out_dir = (dir / "out").string();
  ps::test::write_model(o.model_dir, ps::test::tiny_spec(kind, 2));
  o.prune = parse_prune_spec(spec);
  intervene(o);
  return {o.model_dir, o.out_dir, nlohmann::json::parse(ps::read_file(o.out_dir + "/" + kInterventionFile))};
}

// Which HF names are the attention / MLP matrices of the tiny models (independently of matrix_group).
bool ends(const std::string& n, const std::string& p) { return n.size() >= p.size() && n.compare(n.size() - p.size(), p.size(), p) == 0; }
bool is_matrix(const std::string& n, const std::string& group) {
  const bool has_self = n.find("attention.self.") != std::string::npos, has_attn = n.find("self_attn.") != std::string::npos;
  if (group == "attn")
    return ends(n, "attn.c_attn.weight") || ends(n, "attn.c_proj.weight") || (has_self && ends(n, ".weight")) ||
           ends(n, "attention.output.dense.weight") || (has_attn && ends(n, "_proj.weight"));
  return ends(n, "mlp.c_fc.weight") || ends(n, "mlp.c_proj.weight") || ends(n, "intermediate.dense.weight") ||
         (ends(n, "output.dense.weight") && !ends(n, "attention.output.dense.weight")) ||
         (n.find(".mlp.") != std::string::npos && ends(n, "_proj.weight"));
}

TEST(PruneModel, ExactZerosSelectedTensorsOnlyEveryFamily) {
  for (Tiny kind : {Tiny::GPT2, Tiny::RoBERTa, Tiny::LLaMA}) {
    for (const std::string filter : {"attn,mlp", "attn", "mlp"}) {
      const double s = 0.6;
      const auto p = prune_tiny(kind, "magnitude:sparsity=0.6,filter=" + filter,
                                std::string("prune_") + ps::test::tiny_name(kind) + "_" + filter);
      const auto a = ps::st::File::open(p.src + "/model.safetensors"), b = ps::st::File::open(p.out + "/model.safetensors");
      ASSERT_EQ(a.names(), b.names());
      const auto wa = weights_of(p.src), wb = weights_of(p.out);
      int selected = 0;
      for (const auto& n : a.names()) {
        const bool want = (filter.find("attn") != std::string::npos && is_matrix(n, "attn")) ||
                          (filter.find("mlp") != std::string::npos && is_matrix(n, "mlp"));
        if (!want) {
          EXPECT_EQ(bytes_of(a, n), bytes_of(b, n)) << n << " " << filter;
          continue;
        }
        ++selected;
        const auto& w = wb.at(n);
        EXPECT_EQ(w.numel() - w.count_nonzero().item<int64_t>(), pruned_count(w.numel(), s)) << n;
        // Survivors are unchanged, and every pruned weight was no larger than any survivor.
        const auto kept = w != 0;
        EXPECT_TRUE(at::equal(w.masked_select(kept), wa.at(n).masked_select(kept))) << n;
        EXPECT_LE(wa.at(n).masked_select(kept.logical_not()).abs().max().item<float>(),
                  wa.at(n).masked_select(kept).abs().min().item<float>()) << n;
      }
      const int blocks = 2, per_block = (filter.find("attn") != std::string::npos ? (kind == Tiny::GPT2 ? 2 : 4) : 0) +
                                       (filter.find("mlp") != std::string::npos ? (kind == Tiny::LLaMA ? 3 : 2) : 0);
      EXPECT_EQ(selected, blocks * per_block) << ps::test::tiny_name(kind) << " " << filter;
      const auto& step = p.record["interventions"][0];
      EXPECT_EQ(step["kind"], "prune");
      EXPECT_EQ(step["tensors"].size(), size_t(selected));
      for (const auto& t : step["tensors"]) EXPECT_EQ(t["zeros"], pruned_count(t["numel"].get<int64_t>(), s));
      // The written model loads and runs.
      const auto logits = logits_of(p.out);
      EXPECT_TRUE(at::isfinite(logits).all().item<bool>());
      EXPECT_FALSE(at::equal(logits, logits_of(p.src)));
    }
  }
}

TEST(PruneModel, GlobalScopeIsOneThreshold) {
  const auto p = prune_tiny(Tiny::LLaMA, "magnitude:sparsity=0.5,scope=global", "prune_global");
  const auto wa = weights_of(p.src), wb = weights_of(p.out);
  const double thr = p.record["interventions"][0]["global_threshold_abs"];
  int64_t total = 0, zeros = 0;
  std::set<int64_t> per_tensor_zeros;
  float max_pruned = 0, min_kept = 1e30f;
  for (const auto& t : p.record["interventions"][0]["tensors"]) {
    const std::string n = t["name"];
    const auto kept = wb.at(n) != 0;
    max_pruned = std::max(max_pruned, wa.at(n).masked_select(kept.logical_not()).abs().max().item<float>());
    min_kept = std::min(min_kept, wa.at(n).masked_select(kept).abs().min().item<float>());
    total += wb.at(n).numel();
    zeros += t["zeros"].get<int64_t>();
    per_tensor_zeros.insert(int64_t(1000 * t["sparsity"].get<double>()));
  }
  EXPECT_LE(max_pruned, min_kept);
  EXPECT_FLOAT_EQ(float(thr), max_pruned);
  EXPECT_EQ(zeros, pruned_count(total, 0.5));
  EXPECT_GT(per_tensor_zeros.size(), 1u);  // a global threshold changes layer sparsities (spec §6(c))
}

TEST(PruneModel, RandomIsDeterministicInTheSeed) {
  const auto a = prune_tiny(Tiny::GPT2, "random:sparsity=0.75,seed=4", "rand_a");
  const auto b = prune_tiny(Tiny::GPT2, "random:sparsity=0.75,seed=4", "rand_b");
  const auto c = prune_tiny(Tiny::GPT2, "random:sparsity=0.75,seed=5", "rand_c");
  EXPECT_EQ(ps::read_file(a.out + "/model.safetensors"), ps::read_file(b.out + "/model.safetensors"));
  EXPECT_NE(ps::read_file(a.out + "/model.safetensors"), ps::read_file(c.out + "/model.safetensors"));
  const auto wa = weights_of(a.src), wb = weights_of(a.out);
  for (const auto& t : a.record["interventions"][0]["tensors"]) {
    EXPECT_EQ(t["zeros"], pruned_count(t["numel"].get<int64_t>(), 0.75));
    // Random: the pruned entries are not the smallest ones.
    const std::string n = t["name"];
    const auto kept = wb.at(n) != 0;
    EXPECT_GT(wa.at(n).masked_select(kept.logical_not()).abs().max().item<float>(),
              wa.at(n).masked_select(kept).abs().min().item<float>());
  }
}

// Spec §7(d).1: W = UV (rank 4, 64x64) + S* (16 entries of 1.0) + noise 1e-3.
TEST(Decompose, PlantedLowRankPlusSparseIsRecovered) {
  for (uint64_t seed : {1, 2, 3}) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(100 + seed);
    const auto U0 = at::empty({64, 4}, at::kDouble).normal_(0, 1, gen), V0 = at::empty({4, 64}, at::kDouble).normal_(0, 1, gen);
    const auto L0 = at::matmul(U0, V0) / 4.0;  // entries ~ N(0, 1/4)
    const auto support = std::get<0>(at::sort(at::randperm(64 * 64, gen, at::kLong).slice(0, 0, 16)));
    auto S0 = at::zeros({64, 64}, at::kDouble);
    S0.view({-1}).index_fill_(0, support, 1.0);
    const auto W = L0 + S0 + 1e-3 * at::empty({64, 64}, at::kDouble).normal_(0, 1, gen);
    DecomposeSpec spec;
    spec.rank = 4, spec.nnz = 16;
    const auto d = lowrank_sparse(W, spec, seed);
    EXPECT_TRUE(at::equal(d.support, support)) << seed;
    const auto L = at::matmul(d.U, d.V);
    EXPECT_LT((L - L0).norm().item<double>() / L0.norm().item<double>(), 1e-2) << seed;
    EXPECT_EQ(d.U.size(1), 4);
    EXPECT_EQ(d.S.count_nonzero().item<int64_t>(), 16);
    EXPECT_TRUE(at::allclose(L + d.S + d.residual, W, 0, 1e-12));
    const auto e = energy_of(W, d);
    EXPECT_NEAR((e.lowrank + e.sparse + e.residual + e.cross) / e.total, 1.0, 1e-9);
    EXPECT_LT(e.residual / e.total, 1e-4);
    // Rank above min(m, n), nnz above m*n: one-line errors naming the option.
    spec.rank = 65;
    expect_input_error([&] { lowrank_sparse(W, spec, seed); }, "--decompose rank=65");
    spec.rank = 4, spec.nnz = 64 * 64 + 1;
    expect_input_error([&] { lowrank_sparse(W, spec, seed); }, "--decompose nnz=");
  }
}

TEST(DecomposeModel, ThreeAblationDirectoriesReconstructAsStated) {
  const auto dir = ps::test::scratch_dir("decompose");
  InterveneOptions o;
  o.model_dir = (dir / "src").string();
  o.out_dir = (dir / "out").string();
  ps::test::write_model(o.model_dir, ps::test::tiny_spec(Tiny::LLaMA, 3));
  o.decompose = parse_decompose_spec("lowrank+sparse:rank=3,nnz=20,iters=20");
  intervene(o);
  const std::string lr = o.out_dir + kLowrankSuffix, mlr = o.out_dir + kMinusLowrankSuffix;
  const auto W = weights_of(o.model_dir), main = weights_of(o.out_dir), low = weights_of(lr), minus = weights_of(mlr);
  const auto factors = ps::st::File::open(o.out_dir + "/" + kDecompositionFactors);
  const auto rec = nlohmann::json::parse(ps::read_file(o.out_dir + "/" + kInterventionFile));
  const auto& step = rec["interventions"][0];
  EXPECT_EQ(step["kind"], "decompose");
  EXPECT_EQ(step["this_directory"], "lowrank+sparse (UV + S)");
  EXPECT_EQ(nlohmann::json::parse(ps::read_file(lr + "/" + kInterventionFile))["interventions"][0]["this_directory"], "lowrank (UV)");
  EXPECT_EQ(step["tensors"].size(), 2u * 7u);
  std::set<std::string> decomposed;
  for (const auto& t : step["tensors"]) {
    const std::string n = t["name"];
    decomposed.insert(n);
    const auto& e = t["energy"];
    EXPECT_NEAR(e["lowrank"].get<double>() + e["sparse"].get<double>() + e["residual"].get<double>() + e["cross"].get<double>(), 1.0, 1e-9) << n;
    EXPECT_GT(e["lowrank"].get<double>(), 0.0);
    EXPECT_GT(e["sparse"].get<double>(), 0.0);
    auto read = [&](const std::string& k) {
      const auto& i = factors.at(n + "." + k);
      auto x = at::empty(i.shape, i.dtype == ps::st::DType::I64 ? at::kLong : at::kFloat);
      std::memcpy(x.data_ptr(), i.data, i.nbytes);
      return x;
    };
    const auto U = read("U"), V = read("V"), idx = read("S_index"), val = read("S_value");
    EXPECT_EQ(U.size(1), 3);
    EXPECT_EQ(idx.numel(), 20);
    // UV only = the factors' product; UV + S differs from it exactly on S's support, by S; (W - UV) + UV = W.
    EXPECT_TRUE(at::allclose(low.at(n), at::matmul(U, V), 1e-5, 1e-6)) << n;
    const auto diff = (main.at(n) - low.at(n)).reshape({-1});
    EXPECT_LE(diff.count_nonzero().item<int64_t>(), 20) << n;
    EXPECT_TRUE(at::allclose(diff.index_select(0, idx), val, 1e-5, 1e-6)) << n;
    EXPECT_TRUE(at::allclose(low.at(n) + minus.at(n), W.at(n), 1e-5, 1e-6)) << n;
  }
  for (const auto& [n, t] : W)
    if (!decomposed.count(n)) {
      EXPECT_TRUE(at::equal(main.at(n), t)) << n;
      EXPECT_TRUE(at::equal(low.at(n), t)) << n;
      EXPECT_TRUE(at::equal(minus.at(n), t)) << n;
    }
  const std::string csv = ps::read_file(o.out_dir + "/" + kDecompositionCsv);
  EXPECT_EQ(csv.rfind("tensor,shape,rank,nnz,", 0), 0u);
  EXPECT_NE(csv.find("\noverall,"), std::string::npos);
  for (const auto& d : {o.out_dir, lr, mlr}) {
    EXPECT_TRUE(at::isfinite(logits_of(d)).all().item<bool>()) << d;
    EXPECT_TRUE(fs::exists(d + "/config.json")) << d;
    EXPECT_FALSE(fs::exists(d + "/" + (d == o.out_dir ? "none" : kDecompositionCsv))) << d;
  }
  // A second run refuses to overwrite the ablations without --force; rank above min(m, n) is refused up front.
  InterveneOptions again = o;
  again.out_dir = (dir / "other").string();
  fs::create_directories(again.out_dir + kLowrankSuffix);
  ps::write_file_atomic(again.out_dir + kLowrankSuffix + "/x", "mine");
  expect_input_error([&] { intervene(again); }, "--force");
  again.out_dir = (dir / "third").string();
  again.decompose->rank = 33;
  expect_input_error([&] { intervene(again); }, "rank=33");
  EXPECT_FALSE(fs::exists(again.out_dir));
}

TEST(PruneThenDecompose, FixedOrderAndHistory) {
  const auto dir = ps::test::scratch_dir("both");
  InterveneOptions o;
  o.model_dir = (dir / "src").string();
  o.out_dir = (dir / "out").string() + "/";  // "out/" is out: the ablations go beside it
  ps::test::write_model(o.model_dir, ps::test::tiny_spec(Tiny::GPT2, 2));
  o.prune = parse_prune_spec("magnitude:sparsity=0.5");
  o.decompose = parse_decompose_spec("lowrank+sparse:rank=2,nnz=5,filter=mlp,iters=5");
  intervene(o);
  const std::string out = (dir / "out").string();
  EXPECT_TRUE(fs::exists(out + kLowrankSuffix + "/config.json"));
  EXPECT_FALSE(fs::exists(out + "/" + kLowrankSuffix));
  for (const auto& e : fs::directory_iterator(dir)) EXPECT_NE(e.path().filename().string()[0], '.') << e.path();
  const auto rec = nlohmann::json::parse(ps::read_file(out + "/" + kInterventionFile));
  ASSERT_EQ(rec["interventions"].size(), 2u);
  EXPECT_EQ(rec["interventions"][0]["kind"], "prune");
  EXPECT_EQ(rec["interventions"][1]["kind"], "decompose");
  // The ablations add back to the pruned weights, not the source's.
  InterveneOptions only = o;
  only.out_dir = (dir / "pruned").string();
  only.decompose.reset();
  intervene(only);
  const auto pruned = weights_of(only.out_dir), low = weights_of(out + kLowrankSuffix),
             minus = weights_of(out + kMinusLowrankSuffix);
  const std::string attn = "transformer.h.0.attn.c_attn.weight", mlp = "transformer.h.0.mlp.c_fc.weight";
  EXPECT_TRUE(at::equal(low.at(attn), pruned.at(attn)));  // filter=mlp: attention only pruned
  EXPECT_TRUE(at::allclose(low.at(mlp) + minus.at(mlp), pruned.at(mlp), 1e-5, 1e-6));
  EXPECT_FALSE(at::allclose(low.at(mlp), pruned.at(mlp), 1e-3, 1e-3));
}

}  // namespace
