// probescope intervene MODEL_DIR --out DIR: weight interventions written as a new HF model directory.
#include <cstdio>

#include "app/cli/commands.h"
#include "app/cli/quantize_calibration.h"
#include "models/intervene/intervene.h"

namespace ps::cli {

void add_intervene_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "intervene",
      "Write an intervened copy of a model (Hugging Face layout: config.json, model.safetensors, tokenizer files) "
      "that every command loads; the intervention, its parameters and the source's hashes go to "
      "probescope_intervention.json beside config.json");
  struct Args {
    std::string model_dir, out, stretch, rope, prune, decompose;
    bool force = false;
    QuantizeFlags quant;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("MODEL_DIR", a->model_dir, "source Hugging Face model directory (never modified)")->required();
  cmd->add_option("--out", a->out, "new model directory (written atomically: a temp dir renamed into place)")->required();
  cmd->add_option("--stretch-positions", a->stretch,
                  "keep=K,factor=F: Long-CLIP knowledge-preserved stretching of a learned position table (GPT-2, "
                  "BERT, RoBERTa): rows < K kept, the rest linearly interpolated F-fold, the last F rows "
                  "extrapolated; L positions become F*L - (F-1)*K (authors' default keep=20,factor=4: GPT-2 "
                  "1024 -> 4036). RoBERTa's two padding-offset rows stay as they are. config.json and "
                  "tokenizer_config.json limits are raised to match. Training-free: outputs change wherever a "
                  "position >= K is seen (for BERT/RoBERTa at every position once the input is longer than K)");
  cmd->add_option("--rope-scaling", a->rope,
                  "TYPE:factor[:key=value...] (linear, dynamic, yarn, llama3, longrope, clex; 'none' removes it), "
                  "LLaMA family only: written into config.json's rope_scaling, Hugging Face's own field");
  cmd->add_option("--prune", a->prune,
                  "magnitude|random:sparsity=S[,scope=layer|global][,filter=attn,mlp][,seed=N]: unstructured pruning of "
                  "the blocks' attention (q,k,v,o; GPT-2 c_attn/c_proj) and/or MLP matrices (embeddings, norms, "
                  "biases, LM head untouched). Exactly round(S*numel) weights of each tensor become 0 (scope=layer, "
                  "the default), or one ranking over all of them (scope=global: one magnitude threshold, so tensor "
                  "sparsities differ); random = seeded uniform scores + the same top-k (SPDF's mask). S in [0, 1). "
                  "The achieved per-tensor sparsity is recorded in probescope_intervention.json");
  cmd->add_option("--decompose", a->decompose,
                  "lowrank+sparse:rank=R,nnz=N[,filter=attn,mlp][,iters=100][,inner=2][,step=5][,threshold=0.25]"
                  "[,polish=10][,seed=0]: DSEE's GreBsmo-style split W = UV + S + residual of each selected matrix "
                  "(U,V rank R; S the N largest entries of W - UV). The hard threshold is threshold x rms(W), "
                  "relative (DSEE's absolute 0.01 suits only BERT's weight scale). --out gets UV + S; OUT-lowrank "
                  "gets UV only; OUT-minus-lowrank gets W - UV (= S + residual). Energy shares per tensor and "
                  "overall go to stderr, OUT/decomposition.csv and the record; U, V and S to "
                  "OUT/decomposition_factors.safetensors. Order when combined: stretch, prune, decompose, quantize");
  cmd->add_flag("--force", a->force, "replace a non-empty --out");
  a->quant.add_to(*cmd);
  cmd->callback(guarded("intervene", [a] {
    ps::models::InterveneOptions o;
    o.model_dir = a->model_dir;
    o.out_dir = a->out;
    if (!a->stretch.empty()) o.stretch = ps::models::parse_stretch_spec(a->stretch);
    o.rope_scaling = a->rope;
    if (!a->prune.empty()) o.prune = ps::models::parse_prune_spec(a->prune);
    if (!a->decompose.empty()) o.decompose = ps::models::parse_decompose_spec(a->decompose);
    o.force = a->force;
    ps::Progress progress("intervene", 0, "steps", /*to_stderr=*/false);  // FlexRound prints its own lines
    CancelOnInterrupt interrupt(progress);
    a->quant.apply(a->model_dir, o, &progress);
    const auto r = ps::models::intervene(o);
    if (!r.complete) {
      std::fprintf(stderr, "intervene: stopped after block %lld of %lld; rerun the same command to resume\n",
                   (long long)r.blocks_done, (long long)r.blocks_total);
      set_exit_code(1);
      return;
    }
    std::printf("wrote %s: max positions %lld -> %lld (record: %s/%s)\n", r.out_dir.c_str(),
                (long long)r.max_positions_before, (long long)r.max_positions_after, r.out_dir.c_str(),
                ps::models::kInterventionFile);
    if (o.decompose)
      std::printf("ablations: %s%s (UV only), %s%s (W - UV); energies in %s/decomposition.csv\n", r.out_dir.c_str(),
                  ps::models::kLowrankSuffix, r.out_dir.c_str(), ps::models::kMinusLowrankSuffix, r.out_dir.c_str());
  }));
}

static const CommandRegistration registration{76, add_intervene_command};

}  // namespace ps::cli
