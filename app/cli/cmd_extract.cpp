// probescope extract / merge / align-check: the corpus through the model into an HDF5 store (data/extract),
// shard joins, and what an alignment mode costs the model.
#include <cstdio>
#include <memory>

#include "app/cli/commands.h"
#include "data/extract/align_check.h"
#include "data/extract/extract.h"
#include "data/store/merge.h"
#include "models/util/error.h"

namespace ps::cli {

namespace {

struct ExtractArgs {
  ps::extract::ExtractOptions opt;
  EngineFlags engine;
  std::string shard = "0/1";
  int64_t random_seed = -1;
  std::string random_scope = "full";
};

void run_extract(ExtractArgs& a) {
  auto& o = a.opt;
  o.engine = a.engine.options();
  std::tie(o.shard_index, o.shard_count) = ps::extract::parse_shard(a.shard);
  if (a.random_seed >= 0) o.random_weights = uint64_t(a.random_seed);
  if (a.random_scope != "full" && a.random_scope != "encoder")
    throw ps::InputError("--random-scope '" + a.random_scope + "': expected full or encoder");
  o.random_keep_embeddings = a.random_scope == "encoder";
  Progress progress("extract", 0, "snippets");
  ps::extract::ExtractSummary sum;
  {
    // First Ctrl-C: finish the group in flight, commit, exit resumable.
    CancelOnInterrupt interrupt(progress);
    sum = ps::extract::extract(o, &progress, [](const std::string& m) { std::fprintf(stderr, "%s\n", m.c_str()); });
  }
  if (sum.already_complete) {
    std::printf("%s: already complete with these settings (%lld snippets); nothing to do\n", o.out.c_str(),
                (long long)sum.total_snippets);
    return;
  }
  std::fputs(sum.format().c_str(), stdout);
  if (!sum.complete) throw RuntimeError("interrupted; rerun the same command to resume " + o.out);
}

void run_merge(const std::string& out, const std::vector<std::string>& shards, bool overwrite) {
  ps::store::MergeOptions mo;
  mo.overwrite = overwrite;
  ps::store::merge_stores(out, shards, mo);
  std::printf("%s: merged %zu shards\n", out.c_str(), shards.size());
}

}  // namespace

void add_extract_command(CLI::App& app) {
  auto a = std::make_shared<ExtractArgs>();
  auto& o = a->opt;
  auto* cmd = app.add_subcommand(
      "extract",
      "Run a corpus through a model and store per-word vectors (and optionally per-token vectors and attention) of "
      "chosen layers, the AST-Probe labels (d, c, u) and structural-probe trees in an HDF5 store. Prepacked batches "
      "by default. Interrupted runs resume: rerun the same command.");
  cmd->add_option("--model", o.model_dir, "Hugging Face model directory (config.json, model.safetensors, tokenizer.json)")
      ->required();
  cmd->add_option("--corpus", o.corpus, "corpus JSONL (from `probescope corpus build`)")->required();
  cmd->add_option("--out", o.out, "output store (.h5)")->required();
  cmd->add_option("--layers", o.layers, "layers of pooled per-word vectors: all, 0,4,8, -1 (L = hidden_states[L])")
      ->capture_default_str();
  cmd->add_option("--hooks", o.hooks, "resid_post (= hidden_states), resid_mid, attn_out, mlp_out (comma list)")
      ->capture_default_str();
  cmd->add_option("--token-layers", o.token_layers, "also store raw per-subword vectors of these layers");
  cmd->add_option("--attention-layers", o.attention_layers,
                  "store attention patterns of these layers (L = block L-1; all = 1..n); large: heads x n x n per snippet");
  cmd->add_option("--heads", o.heads, "heads kept for --attention-layers: all or a comma list")->capture_default_str();
  cmd->add_option("--store-dtype", o.store_dtype, "float32, float16 or bfloat16 on disk")->capture_default_str();
  cmd->add_option("--gzip", o.gzip, "0 = off, 1..9 = shuffle + deflate level (fp16 activations shrink ~13%)")
      ->capture_default_str();
  cmd->add_option("--language", o.language, "auto (the first record's), a language, or any")->capture_default_str();
  cmd->add_option("--syntax", o.syntax, "auto, on or off: parse and store (d, c, u) and structural trees")
      ->capture_default_str();
  cmd->add_option("--align", o.align,
                  "auto (boundary for byte-level BPE and Metaspace tokenizers, else offsets), boundary (each word with "
                  "the gap before it tokenized as its own piece: no subword shared by two words), offsets (the text "
                  "tokenized once, subwords matched by byte offsets) or joined (reference: words joined by spaces)")
      ->capture_default_str();
  cmd->add_flag("--no-raw-last-block", [a](int64_t) { a->opt.raw_last_block = false; },
                "do not also store the last block's raw output (words/blocks.{n-1}.hook_resid_post) beside the final "
                "norm's layer n");
  cmd->add_option("--pool", o.pool, "subwords → word: mean, first or last")->capture_default_str();
  cmd->add_option("--shard", a->shard, "process record r iff r % N == i (i/N); join shards with `probescope merge`")
      ->capture_default_str();
  cmd->add_option("--limit", o.limit, "at most this many snippets (0 = all)")->capture_default_str();
  cmd->add_option("--splits", o.splits, "keep only these corpus splits, e.g. valid,test (default: all)");
  cmd->add_option("--limit-per-split", o.limit_per_split,
                  "at most N snippets of each corpus split, or per split as train=3000,valid=500,test=500 (splits not "
                  "named: no cap), in corpus order and per shard like --limit: train functions for a probe's train set "
                  "and held-out ones for its test, where the corpus lists every train record first");
  cmd->add_option("--random-weights", a->random_seed,
                  "use the architecture with random weights drawn from this seed (the probing baseline)");
  cmd->add_option("--random-scope", a->random_scope,
                  "with --random-weights: full (every weight random) or encoder (keep the checkpoint's embeddings, "
                  "randomise the blocks: the AST-Probe reference's baseline; label suffix -random-encoder)")
      ->capture_default_str();
  cmd->add_option("--label", o.model_label, "model name in results (default: the model directory's name)");
  cmd->add_option("--group-tokens", o.group_tokens, "tokens per committed group (0 = --token-budget)")
      ->capture_default_str();
  cmd->add_option("--context-prefix", o.context_prefix,
                  "run each function after exactly N tokens of other functions of its split (seeded order, joined "
                  "by the eos token; never itself) and store only the function's states, so its words sit at "
                  "positions N.. (beyond the training length, to see what --mask/--rope-scaling do to syntax); "
                  "with learned positions (GPT-2, BERT) N + the function's tokens must fit the table, with rotary ones only the function (longer ones are skipped as too_long); 0 = none")
      ->capture_default_str();
  cmd->add_option("--context-seed", o.context_prefix_seed, "the seed of --context-prefix's order of other functions")
      ->capture_default_str();
  cmd->add_flag("--overwrite", o.overwrite, "replace an existing store instead of resuming it");
  a->engine.add_to(*cmd);
  cmd->callback(guarded("extract", [a] { run_extract(*a); }));

  auto shards = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  auto overwrite = std::make_shared<bool>(false);
  auto* merge = app.add_subcommand(
      "merge", "Join shard stores (extract --shard i/N) into one self-contained store, in shard order, checking that "
               "their manifests agree");
  merge->add_option("OUT", *out, "merged store")->required();
  merge->add_option("SHARDS", *shards, "shard stores")->required();
  merge->add_flag("--overwrite", *overwrite, "replace OUT if it exists");
  merge->callback(guarded("merge", [out, shards, overwrite] { run_merge(*out, *shards, *overwrite); }));
}

void add_align_check_command(CLI::App& app) {
  auto o = std::make_shared<ps::extract::AlignCheckOptions>();
  auto* cmd = app.add_subcommand(
      "align-check",
      "What an alignment mode does on real functions: subwords, adjacent word pairs sharing a subword, words with "
      "a non-contiguous subword set, and (causal LMs) the perplexity of the same comment-free functions tokenized "
      "naturally vs re-segmented at word boundaries (--align boundary), each function scored alone with its EOS");
  cmd->add_option("--model", o->model_dir, "Hugging Face model directory")->required();
  cmd->add_option("--corpus", o->corpus, "corpus JSONL")->required();
  cmd->add_option("--splits", o->splits, "corpus splits scored (held-out by default; \"\" = all)")->capture_default_str();
  cmd->add_option("--language", o->language, "auto (the first record's) or a language")->capture_default_str();
  cmd->add_option("--limit", o->limit, "functions scored (0 = all)")->capture_default_str();
  cmd->add_flag("--bf16", o->bf16, "bf16 autocast for the forwards");
  cmd->add_option("--threads", o->load.threads, "CPU threads (0 = all)")->capture_default_str();
  cmd->callback(guarded("align-check", [o] {
    const auto r = ps::extract::align_check(*o);
    std::fputs(r.format(o->model_dir, o->corpus).c_str(), stdout);
  }));
}

static const CommandRegistration registration{30, add_extract_command};
static const CommandRegistration align_check_registration{31, add_align_check_command};

}  // namespace ps::cli
