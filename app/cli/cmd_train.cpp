// probescope train-tokenizer / train / train-export / train-coord-check: a byte-level BPE tokenizer and a
// small causal LM or masked-LM encoder trained from scratch on a corpus JSONL, SP or muP (see models/train/).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>

#include "app/cli/commands.h"
#include "models/util/spec.h"
#include "data/corpus/load.h"
#include "models/tokenizer/tokenizer.h"
#include "models/train/bpe_trainer.h"
#include "models/train/coord_check.h"
#include "models/train/hf_checkpoint.h"
#include "models/train/trainer.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::cli {

namespace {

namespace fs = std::filesystem;

// Snippets of a corpus JSONL, by split ("" split = unassigned). Bad lines are reported and skipped.
struct Docs {
  std::vector<std::string> train, valid, other;
  std::vector<std::string> valid_languages;  // one per valid snippet
};
Docs read_corpus(const std::string& path) {
  ps::corpus::LoadOptions opt;
  opt.read.max_file_bytes = size_t(1) << 24;  // snippets were vetted when the corpus was built
  opt.read.max_line_bytes = size_t(1) << 24;
  opt.on_problem = [](const ps::corpus::Problem& p) { std::fprintf(stderr, "%s\n", p.message.c_str()); };
  opt.require_snippets = false;  // an empty split is reported with the split's name below
  Docs d;
  for (auto& s : ps::corpus::load(path, opt).snippets) {
    if (s.split == "valid") d.valid_languages.push_back(s.language.empty() ? "unknown" : s.language);
    auto& to = s.split == "train" ? d.train : s.split == "valid" ? d.valid : d.other;
    to.push_back(std::move(s.code));
  }
  return d;
}

int64_t parse_steps_item(const std::string& item, int64_t total) {
  if (!item.empty() && item.back() == '%') {
    const double pct = ps::spec::to_number(item.substr(0, item.size() - 1), "--keep-steps");
    if (pct < 0 || pct > 100) throw ps::InputError("--keep-steps: '" + item + "' is not a percentage in 0..100");
    return std::max<int64_t>(1, int64_t(pct / 100.0 * double(total) + 0.5));
  }
  int64_t step = 0;
  if (!ps::spec::try_int(item, step) || step < 0)
    throw ps::InputError("--keep-steps: '" + item + "' is neither a step nor a percentage");
  return step;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i <= s.size();) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// The model/optimizer flags shared by train and train-coord-check.
void add_model_flags(CLI::App* cmd, ps::train::TrainOptions& o, bool parametrization = true) {
  cmd->add_option("--objective", o.objective,
                  "clm: next-token causal LM (--arch gpt2|llama); mlm: RoBERTa-style masked LM (--arch roberta, "
                  "15% of tokens masked 80/10/10, loss on masked tokens only, bidirectional attention per document)")
      ->capture_default_str();
  cmd->add_option("--arch", o.shape.arch,
                  "gpt2 (pre-LN, learned positions), llama (RoPE, RMSNorm, SwiGLU) or roberta (post-LN encoder); "
                  "default gpt2 for clm, roberta for mlm");
  cmd->add_option("--layers", o.shape.layers, "transformer blocks")->capture_default_str();
  cmd->add_option("--heads", o.shape.heads, "attention heads")->capture_default_str();
  cmd->add_option("--kv-heads", o.shape.kv_heads, "llama: key/value heads (0 = heads)");
  cmd->add_option("--ctx", o.shape.ctx, "row length and maximum positions")->capture_default_str();
  if (parametrization)
    cmd->add_option("--parametrization", o.shape.parametrization,
                  "sp: standard (HF init, one learning rate); mup: maximal update parametrization for Adam relative "
                  "to --base-width (hidden init x sqrt(base/width), hidden lr x base/width, zero-init untied readout "
                  "with lr x base/width, attention 1/head_dim; llama and roberta)")
      ->capture_default_str();
  cmd->add_option("--base-width", o.shape.base_width, "mup: d_model of the base model the learning rate was tuned at");
  cmd->add_option("--lr", o.lr, "peak learning rate (train-coord-check: constant)")->capture_default_str();
  cmd->add_option("--weight-decay", o.weight_decay, "AdamW decoupled decay (matrices only)")->capture_default_str();
  cmd->add_option("--batch-tokens", o.batch_tokens, "tokens per step (rows = batch-tokens / ctx)")->capture_default_str();
  cmd->add_option("--threads", o.threads, "CPU threads (0 = all)")->capture_default_str();
  cmd->add_option("--seed", o.seed, "initialisation, data order and masking")->capture_default_str();
  cmd->add_option("--eos-token", o.eos_token, "document separator token (default <|endoftext|> for clm, </s> for mlm)");
  cmd->add_option("--mask-token", o.mask_token, "mlm: the tokenizer's mask token")->capture_default_str();
  cmd->add_option("--pad-token", o.pad_token, "mlm: the tokenizer's padding token (RoBERTa offsets positions by its id)")
      ->capture_default_str();
  cmd->add_option("--mask-prob", o.mask_prob, "mlm: fraction of tokens selected for prediction")->capture_default_str();
}

}  // namespace

void add_train_tokenizer_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train-tokenizer", "Train a byte-level BPE tokenizer (Hugging Face tokenizer.json) on a corpus");
  struct Args {
    std::string corpus, out, split = "train";
    ps::train::BpeOptions bpe;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--corpus", a->corpus, "corpus JSONL (probescope corpus build)")->required();
  cmd->add_option("--out", a->out, "output directory (tokenizer.json)")->required();
  cmd->add_option("--vocab-size", a->bpe.vocab_size, "vocabulary size incl. special tokens and the 256 bytes")->capture_default_str();
  cmd->add_option("--split", a->split, "snippets used: train, valid, test or all")->capture_default_str();
  cmd->add_option("--min-frequency", a->bpe.min_frequency, "never merge a pair seen fewer times")->capture_default_str();
  cmd->add_option("--special-tokens", a->bpe.special_tokens,
                  "special tokens, ids 0.. (comma-separated; for --objective mlm use '<s>,<pad>,</s>,<unk>,<mask>' "
                  "as RoBERTa)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->callback(guarded("train-tokenizer", [a] {
    if (a->bpe.vocab_size < 257 + int64_t(a->bpe.special_tokens.size()))
      throw ps::InputError("--vocab-size: must exceed 256 bytes + special tokens");
    const auto t0 = std::chrono::steady_clock::now();
    Docs d = read_corpus(a->corpus);
    std::vector<std::string> texts;
    if (a->split == "train" || a->split == "all") texts.insert(texts.end(), d.train.begin(), d.train.end());
    if (a->split == "valid" || a->split == "all") texts.insert(texts.end(), d.valid.begin(), d.valid.end());
    if (a->split == "test" || a->split == "all") texts.insert(texts.end(), d.other.begin(), d.other.end());
    if (texts.empty()) throw ps::InputError(a->corpus + ": no snippets in split '" + a->split + "'");
    ps::Progress progress("train-tokenizer", 0, "merges");
    const auto m = ps::train::train_bpe(texts, a->bpe, &progress);
    fs::create_directories(a->out);
    const std::string path = a->out + "/tokenizer.json";
    const std::string json = ps::train::tokenizer_json(m);
    ps::write_file_atomic(path, json);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // Compression on held-out snippets: what a token is worth on code the tokenizer did not see.
    const auto tok = ps::tok::Tokenizer::from_json(json, path);
    int64_t bytes = 0, tokens = 0;
    for (const auto& s : a->split == "train" ? d.valid : std::vector<std::string>{}) {
      bytes += int64_t(s.size());
      tokens += int64_t(tok.encode(s, false).ids.size());
    }
    size_t text_bytes = 0;
    for (const auto& t : texts) text_bytes += t.size();
    std::printf("wrote %s: vocab %zu (%zu special, %zu merges) from %zu snippets (%zu bytes, %lld words, %lld distinct) in %.1f s\n",
                path.c_str(), m.vocab.size(), m.special_tokens.size(), m.merges.size(), texts.size(), text_bytes,
                (long long)m.words, (long long)m.distinct_words, secs);
    if (tokens > 0)
      std::printf("valid split: %lld bytes -> %lld tokens (%.2f bytes/token)\n", (long long)bytes, (long long)tokens,
                  double(bytes) / double(tokens));
  }));
}

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "train", "Pre-train a small causal LM (GPT-2 or LLaMA style) or masked-LM encoder (RoBERTa style) from scratch; resumable");
  struct Args {
    std::string corpus, tokenizer, keep_steps, sparsity, sparse_until;
    ps::train::TrainOptions o;
  };
  auto a = std::make_shared<Args>();
  auto& o = a->o;
  o.shape.arch.clear();  // by --objective
  cmd->add_option("--corpus", a->corpus, "corpus JSONL; its split field selects train and valid snippets")->required();
  cmd->add_option("--tokenizer", a->tokenizer, "tokenizer.json or a directory holding it")->required();
  cmd->add_option("--out", o.out_dir, "run directory (checkpoints step-XXXXXX/, train_log.csv); rerun to resume")->required();
  add_model_flags(cmd, o);
  cmd->add_option("--d-model", o.shape.d_model, "hidden width")->capture_default_str();
  cmd->add_option("--d-ff", o.shape.d_ff, "MLP width (0 = 4 d for gpt2 and roberta, 8/3 d rounded to 64 for llama)");
  cmd->add_option("--steps", o.steps, "optimizer steps")->capture_default_str();
  cmd->add_option("--min-lr", o.min_lr, "end of the cosine (default lr / 10)");
  cmd->add_option("--warmup", o.warmup, "linear warmup steps")->capture_default_str();
  cmd->add_option("--clip", o.clip, "global gradient-norm clip (0 = off)")->capture_default_str();
  cmd->add_option("--checkpoint-every", o.checkpoint_every, "periodic checkpoint interval in steps (0 = none)")->capture_default_str();
  cmd->add_option("--keep-last", o.keep_last, "periodic checkpoints kept (besides --keep-steps and the last)")->capture_default_str();
  cmd->add_option("--keep-steps", a->keep_steps, "checkpoints kept for good: steps or percentages, e.g. 2%,10%,40%");
  cmd->add_option("--eval-every", o.eval_every, "validation interval in steps (0 = steps / 20)")->capture_default_str();
  cmd->add_option("--eval-tokens", o.eval_tokens,
                  "validation tokens per periodic evaluation (clm: targets; mlm: input tokens; the final one uses all)")
      ->capture_default_str();
  cmd->add_option("--bf16", o.bf16, "bf16 autocast: auto (only if measured faster), on, off")->capture_default_str();
  cmd->add_option("--init-from", o.init_from,
                  "continue an existing model (HF directory or step checkpoint) under this run's schedule instead of a "
                  "random init; the architecture flags must describe it");
  cmd->add_flag("--init-stack", o.init_stack,
                "with --init-from: --layers may be a multiple of the model's blocks; block i starts from its block "
                "i mod L (the stack repeated on top of itself: progressive stacking, Gong et al. 2019)");
  cmd->add_option("--stop-after", o.stop_after, "stop (with a checkpoint) after this many steps of this invocation");
  cmd->add_option("--sparsity", a->sparsity,
                  "SPDF sparse pre-training: S in [0, 1): a static random mask drawn at init from --seed holds exactly "
                  "round(S*numel) weights of every attention and MLP matrix at 0 (embeddings, norms, biases, LM head "
                  "dense); gradients and AdamW moments are masked. The mask is saved in each checkpoint while sparse; "
                  "flops.json reports the training FLOPs saved beside the dense twin");
  cmd->add_option("--sparse-until", a->sparse_until,
                  "SPDF: the step at which the mask is removed (1..--steps); the zeroed weights train dense from there "
                  "(default: sparse for the whole run)");
  cmd->callback(guarded("train", [a] {
    auto o = a->o;
    if (!a->sparsity.empty()) {
      o.sparsity = ps::spec::to_number(a->sparsity, "--sparsity");
      if (!(o.sparsity >= 0 && o.sparsity < 1)) throw ps::InputError("--sparsity " + a->sparsity + ": must lie in [0, 1)");
    }
    if (!a->sparse_until.empty()) {
      if (a->sparsity.empty()) throw ps::InputError("--sparse-until: needs --sparsity");
      o.sparse_until = ps::spec::to_int(a->sparse_until, "--sparse-until", 1, o.steps);
    }
    o.tokenizer_path = fs::is_directory(a->tokenizer) ? a->tokenizer + "/tokenizer.json" : a->tokenizer;
    for (size_t i = 0; i < a->keep_steps.size();) {
      size_t j = a->keep_steps.find(',', i);
      if (j == std::string::npos) j = a->keep_steps.size();
      if (j > i) o.keep_steps.push_back(parse_steps_item(a->keep_steps.substr(i, j - i), o.steps));
      i = j + 1;
    }
    Docs d = read_corpus(a->corpus);
    if (d.train.empty()) throw ps::InputError(a->corpus + ": no snippets with split 'train'");
    // Per-language validation at the end when the corpus mixes languages.
    if (std::set<std::string>(d.valid_languages.begin(), d.valid_languages.end()).size() > 1) o.valid_languages = d.valid_languages;
    ps::Progress progress("train", o.steps, "steps");
    ps::train::TrainResult r;
    {
      // First Ctrl-C/SIGTERM (Slurm's warning before preemption): checkpoint at the next step and stop.
      CancelOnInterrupt interrupt(progress);
      r = ps::train::train_lm(o, d.train, d.valid, &progress);
    }
    std::printf("%s: step %lld/%lld, %lld tokens, %.0f s, %lld parameters%s\n", o.out_dir.c_str(), (long long)r.end_step,
                (long long)o.steps, (long long)r.tokens, r.seconds, (long long)r.parameters, r.bf16 ? ", bf16 autocast" : "");
    std::printf("valid: loss %.4f, %sperplexity %.2f (unigram baseline %.2f) on %lld %stokens\n", r.valid_loss,
                o.objective == "mlm" ? "masked-token " : "", r.valid_ppl, r.unigram_ppl, (long long)r.valid_tokens,
                o.objective == "mlm" ? "masked " : "");
    for (const auto& le : r.by_language)
      std::printf("valid %s: loss %.4f, perplexity %.2f (unigram baseline %.2f) on %lld tokens\n", le.language.c_str(),
                  le.loss, le.ppl, le.unigram_ppl, (long long)le.tokens);
    if (!r.flops.is_null())
      std::printf("SPDF: sparsity %g for %lld of %lld steps: %.4g training FLOPs vs %.4g dense (saved %.1f%% of the sparse "
                  "matmuls, %.1f%% of the total; %s/flops.json)\n", o.sparsity, (long long)r.flops["sparse_steps"].get<int64_t>(),
                  (long long)o.steps, r.flops["flops_this_run"].get<double>(), r.flops["flops_dense_twin"].get<double>(),
                  100 * r.flops["saved_share_of_sparse_matmuls"].get<double>(), 100 * r.flops["saved_share_of_total"].get<double>(),
                  o.out_dir.c_str());
    std::printf("checkpoint: %s%s\n", r.last_checkpoint.c_str(), r.complete ? "" : " (incomplete: rerun to continue)");
    if (!r.complete && progress.cancelled())
      throw ps::RuntimeError("interrupted; rerun the same command to resume " + o.out_dir);
  }));
}

void add_train_export_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train-export", "Copy a training checkpoint as a plain HF model (e.g. float16 weights)");
  auto src = std::make_shared<std::string>(), out = std::make_shared<std::string>(), dtype = std::make_shared<std::string>("float16");
  cmd->add_option("CHECKPOINT", *src, "a step-XXXXXX directory written by probescope train")->required();
  cmd->add_option("--out", *out, "output model directory")->required();
  cmd->add_option("--dtype", *dtype, "float32, float16 or bfloat16")->capture_default_str();
  cmd->callback(guarded("train-export", [=] {
    const at::ScalarType t = *dtype == "float32" ? at::kFloat : *dtype == "float16" ? at::kHalf
                           : *dtype == "bfloat16" ? at::kBFloat16 : throw ps::InputError("--dtype: expected float32, float16 or bfloat16");
    ps::train::export_model(*src, *out, t);
    std::printf("wrote %s (config.json, model.safetensors as %s, %lld bytes, tokenizer.json)\n", out->c_str(),
                dtype->c_str(), (long long)fs::file_size(*out + "/model.safetensors"));
  }));
}

void add_train_coord_check_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "train-coord-check",
      "muP coordinate check: a few Adam steps at several widths, mean |x| of the embeddings, every block's attention, "
      "MLP and output, and the logits per step and width, under SP and muP");
  struct Args {
    std::string corpus, tokenizer, widths = "64,128,256,512", parametrizations = "sp,mup", csv;
    ps::train::CoordCheckOptions c;
  };
  auto a = std::make_shared<Args>();
  auto& o = a->c.train;
  o.shape.arch.clear();
  o.shape.layers = 2, o.shape.ctx = 64, o.batch_tokens = 1024, o.lr = 3e-3, o.threads = 1;
  cmd->add_option("--corpus", a->corpus, "corpus JSONL (its train split is used)")->required();
  cmd->add_option("--tokenizer", a->tokenizer, "tokenizer.json or a directory holding it")->required();
  cmd->add_option("--widths", a->widths, "d_model values, increasing, comma-separated")->capture_default_str();
  cmd->add_option("--steps", a->c.steps, "Adam steps (scales are recorded after 0..steps updates)")->capture_default_str();
  cmd->add_option("--seeds", a->c.seeds, "runs per width, averaged (init, data and masks differ)")->capture_default_str();
  cmd->add_option("--tolerance", a->c.tolerance, "muP passes when every scale stays within this ratio across widths")
      ->capture_default_str();
  cmd->add_option("--compare", a->parametrizations, "parametrizations to run, comma-separated (sp, mup)")->capture_default_str();
  cmd->add_option("--d-ff", o.shape.d_ff, "MLP width at the first width, scaled with the width (0 = the arch's default rule)");
  cmd->add_option("--csv", a->csv, "also write parametrization,width,step,hook,mean_abs rows here");
  add_model_flags(cmd, o, false);
  cmd->callback(guarded("train-coord-check", [a] {
    auto c = a->c;
    c.train.tokenizer_path = fs::is_directory(a->tokenizer) ? a->tokenizer + "/tokenizer.json" : a->tokenizer;
    c.widths.clear();
    for (const auto& w : split_list(a->widths)) {
      int64_t v = 0;
      if (!ps::spec::try_int(w, v) || v <= 0) throw ps::InputError("--widths: '" + w + "' is not a positive integer");
      c.widths.push_back(v);
    }
    c.parametrizations = split_list(a->parametrizations);
    for (const auto& p : c.parametrizations)
      if (p != "sp" && p != "mup") throw ps::InputError("--compare: '" + p + "' is neither sp nor mup");
    if (c.train.shape.base_width <= 0 && !c.widths.empty()) c.train.shape.base_width = c.widths.front();
    Docs d = read_corpus(a->corpus);
    if (d.train.empty()) throw ps::InputError(a->corpus + ": no snippets with split 'train'");
    const auto r = ps::train::coord_check(c, d.train);
    std::fputs(ps::train::coord_check_report(r, c.tolerance).c_str(), stdout);
    if (!a->csv.empty()) {
      std::string text = "parametrization,width,step,hook,mean_abs\n";
      char buf[64];
      for (size_t p = 0; p < r.verdicts.size(); ++p)
        for (size_t w = 0; w < r.widths.size(); ++w)
          for (int64_t s = 0; s <= r.steps; ++s)
            for (size_t h = 0; h < r.hooks.size(); ++h) {
              std::snprintf(buf, sizeof buf, "%.6g", r.mean_abs[p][w][size_t(s)][h]);
              text += r.verdicts[p].parametrization + "," + std::to_string(r.widths[w]) + "," + std::to_string(s) + "," +
                      r.hooks[h] + "," + buf + "\n";
            }
      ps::write_file_atomic(a->csv, text);
    }
  }));
}

static const CommandRegistration reg_tok{60, add_train_tokenizer_command};
static const CommandRegistration reg_train{61, add_train_command};
static const CommandRegistration reg_export{62, add_train_export_command};
static const CommandRegistration reg_coord{63, add_train_coord_check_command};

}  // namespace ps::cli
