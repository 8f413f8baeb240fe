#pragma once
// The --prune and --decompose grammars and the weight filter they share with SPDF training (no LibTorch
// here: the CLI and InterveneOptions include it).
//   --prune      magnitude|random:sparsity=S[,scope=layer|global][,filter=attn,mlp][,seed=N]
//   --decompose  lowrank+sparse:rank=R,nnz=N[,filter=attn,mlp][,iters=I][,inner=J][,step=K][,threshold=T][,polish=P][,seed=N]
// filter names the block matrices touched: attn (q, k, v, o; GPT-2's fused c_attn and c_proj) and/or mlp
// (in/up, gate, out/down). A bare item after filter= continues its list, so "filter=attn,mlp" reads as
// both. Embeddings, norms, biases, the LM head and BERT's MLM head are never selected.
#include <cstdint>
#include <optional>
#include <string>

namespace ps::models {

struct MatrixFilter {
  bool attn = true, mlp = true;
  std::string describe() const;  // "attn,mlp"
};

// "attn", "mlp" for the weight of a block's attention or MLP linear (canonical keys, weights_map.h:
// blocks.L.attn.{qkv,q,k,v,o}.weight, blocks.L.mlp.{in,gate,out}.weight); nullopt for everything else.
std::optional<std::string> matrix_group(const std::string& canonical_key);
bool selected(const MatrixFilter& f, const std::string& canonical_key);

// "attn,mlp" / "attn" / "mlp" (items of a comma list). InputError naming setting for anything else.
MatrixFilter parse_matrix_filter(const std::string& text, const std::string& setting);

struct PruneSpec {
  enum class Method { Magnitude, Random };
  Method method = Method::Magnitude;
  double sparsity = 0;  // fraction of each selected tensor set to 0: exactly round(s * numel) entries
  bool global = false;  // scope=global: one ranking (one magnitude threshold) over all selected tensors
  MatrixFilter filter;
  uint64_t seed = 0;    // random scores (random method; ties never matter for magnitude)
  std::string text;     // as given
  const char* method_name() const { return method == Method::Magnitude ? "magnitude" : "random"; }
};
// InputError naming setting: sparsity outside [0, 1), unknown method/key/filter, a missing sparsity.
PruneSpec parse_prune_spec(const std::string& text, const std::string& setting = "--prune");

struct DecomposeSpec {
  int64_t rank = 0;          // r >= 1 (<= min(m, n) of every selected matrix, checked per tensor)
  int64_t nnz = 0;           // N >= 0 entries kept in S (<= m * n, checked per tensor)
  MatrixFilter filter;
  int64_t iters = 100;       // GreBsmo outer iterations (DSEE: 100)
  int64_t inner = 2;         // alternations per outer iteration (DSEE spec: 2)
  int64_t rank_step = 5;     // rank added after each outer iteration until r is reached (DSEE: 5)
  double threshold = 0.25;   // hard threshold of S, relative: tau = threshold * rms(W) (DSEE's absolute 0.01
                             // is 0.25 x BERT's weight std of ~0.04)
  int64_t polish = 10;       // final alternations with S = the nnz largest |W - UV| (0: DSEE's split as is)
  uint64_t seed = 0;         // the random rank-1 start
  std::string text;
};
// InputError naming setting: rank <= 0, nnz < 0, iters/inner/step < 1, threshold < 0, unknown key/filter.
DecomposeSpec parse_decompose_spec(const std::string& text, const std::string& setting = "--decompose");

}  // namespace ps::models
