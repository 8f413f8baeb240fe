// probescope eval ppl: perplexity overall and by position on long held-out documents (resumable);
// probescope eval pppl: masked-LM pseudo-perplexity of an encoder on held-out functions (resumable).
#include <cstdio>

#include "analysis/ppl/perplexity.h"
#include "analysis/ppl/pseudo_perplexity.h"
#include "app/cli/commands.h"

namespace ps::cli {

namespace {

void add_eval_ppl(CLI::App& eval) {
  auto* cmd = eval.add_subcommand(
      "ppl",
      "Token-level perplexity of a causal LM, overall and per position bucket, on long documents made by "
      "joining the held-out functions of a corpus with the separator token (documents of --context tokens)");
  struct Args {
    ps::ppl::PplOptions o;
    EngineFlags engine;
  };
  auto a = std::make_shared<Args>();
  auto& o = a->o;
  cmd->add_option("--model", o.model_dir, "Hugging Face model directory (a causal LM: GPT-2 or LLaMA family)")->required();
  cmd->add_option("--corpus", o.corpus, "corpus JSONL (\"code\", \"language\", \"split\" per line)")->required();
  cmd->add_option("--split", o.split, "held-out split whose functions make the documents")->capture_default_str();
  cmd->add_option("--context", o.context,
                  "tokens per document (0 = the model's max positions); beyond the training length to measure "
                  "extrapolation (needs a stretched model, a RoPE scaling or a mask that allows it)")
      ->capture_default_str();
  cmd->add_option("--by-position", o.by_position,
                  "position buckets of the target token: W (buckets of W positions) or increasing edges "
                  "'0,256,1024'; default one bucket. Position p is token p predicted from tokens 0..p-1");
  cmd->add_option("--documents", o.documents, "at most this many documents (0 = every full one)")->capture_default_str();
  cmd->add_option("--seed", o.seed, "order of the functions before they are joined")->capture_default_str();
  cmd->add_option("--separator", o.separator, "separator token (default config.json's eos, else <|endoftext|> or </s>)");
  cmd->add_option("--setting", o.setting,
                  "name of this run's line in ppl.csv (default: model name + mask + rope scaling)");
  cmd->add_option("--out", o.out_dir,
                  "output directory: ppl.csv (setting,bucket_start,bucket_end,tokens,nll,ppl), summary.json and "
                  "ppl_state.json (partial sums; a rerun resumes, a changed setting is refused). Several settings "
                  "share one --out: plot them with `probescope plot lines --csv DIR/ppl.csv --x bucket_start "
                  "--y ppl --group setting`")
      ->required();
  a->engine.add_to(*cmd);
  cmd->callback(guarded("eval ppl", [a] {
    auto o = a->o;
    o.engine = a->engine.options();
    ps::Progress progress("eval ppl", 0, "documents");
    progress.set_extra_unit("tokens");
    CancelOnInterrupt interrupt(progress);
    const auto r = ps::ppl::evaluate_perplexity(o, &progress);
    if (!r.complete()) {
      std::fprintf(stderr, "eval ppl: stopped after %lld of %lld documents; rerun the same command to resume\n",
                   (long long)r.documents_done, (long long)r.documents_total);
      set_exit_code(1);
    }
    std::printf("%s: %lld documents, %lld tokens, nll %.4f, ppl %.3f\n", r.setting.c_str(),
                (long long)r.documents_done, (long long)r.overall.tokens, r.overall.mean_nll(), r.overall.ppl());
    for (const auto& b : r.buckets)
      if (b.tokens > 0)
        std::printf("  positions %lld-%lld: %lld tokens, ppl %.3f\n", (long long)b.start, (long long)b.end - 1,
                    (long long)b.tokens, b.ppl());
  }));
}

void add_eval_pppl(CLI::App& eval) {
  auto* cmd = eval.add_subcommand(
      "pppl",
      "Pseudo-perplexity of a masked-LM encoder (BERT/RoBERTa with its MLM head): each token of a held-out "
      "function is masked in its own copy and scored from the rest; PPPL = exp(mean NLL). The number that "
      "compares an encoder with its quantised, pruned or decomposed variants");
  struct Args {
    ps::ppl::PseudoPplOptions o;
    EngineFlags engine;
  };
  auto a = std::make_shared<Args>();
  auto& o = a->o;
  cmd->add_option("--model", o.model_dir, "Hugging Face model directory (an encoder with its MLM head)")->required();
  cmd->add_option("--corpus", o.corpus, "corpus JSONL (\"code\", \"language\", \"split\" per line)")->required();
  cmd->add_option("--split", o.split, "held-out split whose functions are scored")->capture_default_str();
  cmd->add_option("--language", o.language, "only functions of this language (default: every one in the split)");
  cmd->add_option("--functions", o.functions, "score at most this many functions, in seeded order (0 = all)")
      ->capture_default_str();
  cmd->add_option("--context", o.context, "tokens per function, special tokens included; longer ones are cut")
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "order of the functions")->capture_default_str();
  cmd->add_option("--mask-token", o.mask_token, "mask token text (default <mask>, else [MASK])");
  cmd->add_option("--out", o.out_dir,
                  "output directory: summary.json (pppl, tokens, nll, params) and pppl_state.json (partial "
                  "sums; a rerun resumes, a changed setting is refused)")
      ->required();
  a->engine.add_to(*cmd);
  cmd->callback(guarded("eval pppl", [a] {
    auto o = a->o;
    o.engine = a->engine.options();
    ps::Progress progress("eval pppl", 0, "functions");
    progress.set_extra_unit("tokens");
    CancelOnInterrupt interrupt(progress);
    const auto r = ps::ppl::evaluate_pseudo_perplexity(o, &progress);
    if (!r.complete()) {
      std::fprintf(stderr, "eval pppl: stopped after %lld of %lld functions; rerun the same command to resume\n",
                   (long long)r.functions_done, (long long)r.functions_total);
      set_exit_code(1);
    }
    std::printf("%s: %lld functions, %lld masked tokens, nll %.4f, pppl %.3f\n", o.model_dir.c_str(),
                (long long)r.functions_done, (long long)r.tokens, r.tokens ? r.nll / double(r.tokens) : 0.0, r.pppl());
  }));
}

void add_eval_command(CLI::App& app) {
  auto* eval = app.add_subcommand("eval", "Evaluate a model: perplexity by position (ppl), encoder pseudo-perplexity (pppl)");
  eval->require_subcommand(1);
  add_eval_ppl(*eval);
  add_eval_pppl(*eval);
}

}  // namespace

static const CommandRegistration registration{55, add_eval_command};

}  // namespace ps::cli
