// probescope said: intrinsic dimension of fine-tuning (SAID/DID, Aghajanyan et al. 2020) on a corpus-derived
// classification task, with the full fine-tuning baseline and an optional d90 search.
// probescope bench said: seconds per step of SAID/DID against full fine-tuning on a GPT-2-shaped model.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>

#include "analysis/said/study.h"
#include "app/cli/commands.h"
#include "models/open/open_model.h"
#include "models/tokenizer/tokenizer.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::cli {

namespace {

struct SaidArgs {
  std::string model_dir, task = "language", ds, mode = "said", search, out, pool = "mean", head = "projected";
  std::string device = "cpu";
  std::vector<std::string> corpora;
  int64_t steps = 300, batch = 16, max_len = 128, max_train = 2000, max_valid = 500, eval_every = 0, max_d = 0;
  int64_t max_bisect = 6;
  double lr = 0.05, full_lr = 1e-4, target = 0.9;
  uint64_t seed = 123;
  int threads = 0;
  bool no_full = false, no_lr_scaling = false, random_init = false;
};

void print_run(const said::RunResult& r, const std::string& phase, const said::SweepResult& so_far, bool reused) {
  const bool have_full = so_far.full.has_value();
  std::printf("%-6s %-5s d=%-8lld trainable=%-9lld valid_acc=%.4f (start %.4f) loss=%.4f  %.3f s/step%s%s%s\n",
              phase.c_str(), said::mode_name(r.mode), static_cast<long long>(r.d), static_cast<long long>(r.trainable),
              r.best_valid_acc, r.initial_valid_acc, r.train_loss, r.seconds_per_step,
              r.mode == said::Mode::Full || !have_full ? "" : (r.best_valid_acc >= so_far.threshold ? "  >= target" : ""),
              r.cancelled ? "  (stopped)" : "", reused ? "  (from the earlier run)" : "");
  std::fflush(stdout);
}

void run_said(const SaidArgs& a) {
  at::set_num_threads(a.threads > 0 ? a.threads : models::hardware_threads());
  if (a.out.empty()) throw InputError("--out: required (directory for curve.csv and said.json)");
  if (!a.search.empty() && a.search != "d90") throw InputError("--search: unknown search '" + a.search + "' (known: d90)");
  said::SweepOptions so;
  so.run.mode = said::mode_from_name(a.mode);
  so.run.head = said::head_from_name(a.head);
  so.run.pool = said::pool_from_name(a.pool);
  so.run.steps = a.steps, so.run.batch = a.batch, so.run.lr = a.lr, so.run.seed = a.seed;
  so.run.eval_every = a.eval_every, so.run.scale_lr = !a.no_lr_scaling;
  so.full_lr = a.full_lr, so.run_full = !a.no_full, so.search_d90 = a.search == "d90";
  so.target = a.target, so.max_d = a.max_d, so.max_bisect = a.max_bisect;
  if (!a.ds.empty()) so.ds = said::parse_ds(a.ds);
  if (!(a.target > 0 && a.target <= 1)) throw InputError("--target: must be in (0, 1]");

  models::LoadOptions load;
  load.device = a.device;
  load.threads = a.threads;
  const auto opened = models::open_model(
      a.random_init ? models::ModelSource::random(a.model_dir, a.seed) : models::ModelSource::directory(a.model_dir), load);
  if (!opened.tokenizer) throw InputError(a.model_dir + "/tokenizer.json: not found (said tokenizes the corpus)");
  const tok::Tokenizer& tokenizer = *opened.tokenizer;
  const std::shared_ptr<const models::Transformer> model = opened.engine->model_ptr();

  said::TaskOptions to;
  to.task = said::task_from_name(a.task);
  to.max_len = std::min<int64_t>(a.max_len, model->arch().max_positions);
  to.max_train = a.max_train, to.max_valid = a.max_valid, to.seed = a.seed;
  const auto data = said::build_task(said::read_corpora(a.corpora), tokenizer, to);
  const auto theta = said::initial_theta(*model, int64_t(data.classes.size()), a.seed);
  int64_t D = 0;
  for (const auto& [n, t] : theta) D += t.numel();
  std::printf("%s\n", data.summary().c_str());
  std::printf("model %s%s: theta = %zu tensors, %lld numbers (head %lld x %lld + bias, %s); %s, lr %g%s, full lr %g\n",
              a.model_dir.c_str(), a.random_init ? " (random init)" : "", theta.size(), static_cast<long long>(D),
              static_cast<long long>(data.classes.size()), static_cast<long long>(model->arch().d_model), a.head.c_str(),
              a.mode.c_str(), a.lr, so.run.scale_lr ? "/sqrt(d) for theta_d" : "", a.full_lr);
  std::fflush(stdout);

  nlohmann::json meta = {{"model", a.model_dir}, {"random_init", a.random_init}, {"corpora", a.corpora},
                         {"task", data.task}, {"classes", data.classes},
                         {"train_examples", data.train.size()}, {"valid_examples", data.valid.size()},
                         {"max_len", to.max_len}, {"theta_tensors", theta.size()}, {"theta_size", D},
                         {"threads", at::get_num_threads()}};
  said::SweepResult result;
  {
    // First Ctrl-C/SIGTERM: stop the run in flight at its next step; finished runs are on disk and reused.
    CancelOnInterrupt interrupt;
    said::SweepHooks hooks;
    hooks.progress = [&](const std::string& label, int64_t steps) {
      return interrupt.watched(std::make_unique<Progress>(label, steps, "steps"));
    };
    hooks.on_run = print_run;
    result = said::run_study(model, data, so, a.out, meta, hooks);
  }
  if (result.cancelled) throw RuntimeError("interrupted; rerun the same command to resume " + a.out);

  if (result.full)
    std::printf("full fine-tuning: valid_acc %.4f; target %.0f%% = %.4f\n", result.full->best_valid_acc,
                100 * a.target, result.threshold);
  if (result.d90)
    std::printf("d90 = %lld (largest d below the target: %lld)\n", static_cast<long long>(*result.d90),
                static_cast<long long>(result.d90_below));
  else if (result.full)
    std::printf("d90 not reached by any d run (largest: %lld)\n",
                static_cast<long long>(result.runs.empty() ? 0 : result.runs.back().d));
  std::printf("wrote %s/curve.csv and %s/said.json\n", a.out.c_str(), a.out.c_str());
}

struct BenchSaidArgs {
  std::string ds = "1000";
  int64_t d_model = 256, layers = 4, heads = 4, vocab = 8192, seq = 128, batch = 8, steps = 5;
  int threads = 0;
  uint64_t seed = 123;
};

// A GPT-2-shaped model (random weights) and random tokens/labels: step time does not depend on the data.
void bench_said(const BenchSaidArgs& a) {
  at::set_num_threads(a.threads > 0 ? a.threads : models::hardware_threads());
  models::ArchSpec arch;
  arch.family = models::Family::GPT2;
  arch.model_type = "gpt2";
  arch.vocab_size = a.vocab, arch.d_model = a.d_model, arch.n_layers = a.layers, arch.n_heads = a.heads;
  arch.n_kv_heads = a.heads, arch.head_dim = a.d_model / std::max<int64_t>(1, a.heads), arch.d_ff = 4 * a.d_model;
  arch.max_positions = arch.max_position_embeddings = std::max<int64_t>(a.seq, 16);
  if (arch.head_dim * a.heads != a.d_model) throw InputError("--heads must divide --d-model");
  const std::shared_ptr<const models::Transformer> model = models::Transformer::random_init(arch, a.seed);
  said::TaskData data;
  data.task = "random";
  data.classes = {"a", "b"};
  std::mt19937_64 rng(a.seed);
  for (int64_t i = 0; i < a.batch * (a.steps + 1); ++i) {
    said::Example x;
    for (int64_t k = 0; k < a.seq; ++k) x.ids.push_back(int64_t(rng() % uint64_t(a.vocab)));
    x.label = int(rng() % 2);
    (i < a.batch ? data.valid : data.train).push_back(std::move(x));
  }
  std::printf("model: GPT-2 shape, d_model %lld, %lld layers, vocab %lld: %lld parameters; batch %lld x %lld tokens, "
              "%lld steps, %d threads\n",
              (long long)a.d_model, (long long)a.layers, (long long)a.vocab, (long long)model->num_parameters(),
              (long long)a.batch, (long long)a.seq, (long long)a.steps, at::get_num_threads());
  std::printf("%-6s %9s %12s %12s %10s\n", "mode", "d", "trainable", "s/step", "vs-full");
  said::FinetuneOptions o;
  o.steps = a.steps, o.batch = a.batch, o.eval_batch = a.batch, o.seed = a.seed;
  o.mode = said::Mode::Full;
  const double full = said::finetune(model, data, o).seconds_per_step;
  std::printf("%-6s %9s %12lld %12.3f %9.2fx\n", "full", "-", (long long)model->num_parameters(), full, 1.0);
  for (int64_t d : said::parse_ds(a.ds))
    for (auto mode : {said::Mode::DID, said::Mode::SAID}) {
      o.mode = mode, o.d = d;
      const auto r = said::finetune(model, data, o);
      std::printf("%-6s %9lld %12lld %12.3f %9.2fx\n", said::mode_name(mode), (long long)d, (long long)r.trainable,
                  r.seconds_per_step, r.seconds_per_step / full);
    }
  // The projection's share of a step: θ = θ0 + P θ_d for every tensor, then the transposed map of the gradients.
  for (int64_t d : said::parse_ds(a.ds)) {
    said::Subspace sub(said::initial_theta(*model, 2, a.seed), d, a.seed);
    const auto theta_d = at::randn({d});
    double best = 1e30;
    for (int rep = 0; rep < 3; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      std::vector<at::Tensor> delta;
      sub.weights(theta_d, at::Tensor(), &delta);
      sub.backward(delta, delta, at::Tensor(), nullptr);
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::printf("fastfood d=%lld: project + transpose over %lld numbers: %.3f s (%.0f%% of a full step)\n",
                (long long)d, (long long)sub.projection().total(), best, 100 * best / full);
  }
}

}  // namespace

void add_said_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "said",
      "Intrinsic dimension of fine-tuning (Aghajanyan et al. 2020): train a classifier through a d-dimensional "
      "Fastfood subspace (SAID/DID), against full fine-tuning; sweep d or search d90");
  auto a = std::make_shared<SaidArgs>();
  cmd->add_option("--model", a->model_dir, "Hugging Face model directory (config.json, safetensors, tokenizer.json)")
      ->required();
  cmd->add_option("--corpus", a->corpora, "corpus JSONL (probescope corpus build); repeat or comma-separate")
      ->required()
      ->delimiter(',');
  cmd->add_option("--task", a->task, "language (which language) or returns (function returns a value, from the parse)")
      ->capture_default_str();
  cmd->add_option("--d", a->ds, "comma-separated subspace sizes, e.g. 10,100,1000 (with --search d90: the sweep)");
  cmd->add_option("--mode", a->mode, "said (per-tensor scales lambda) or did")->capture_default_str();
  cmd->add_option("--search", a->search, "d90: sweep d upward until 90% of full fine-tuning, then bisect");
  cmd->add_option("--target", a->target, "fraction of full fine-tuning accuracy for the search")->capture_default_str();
  cmd->add_option("--max-d", a->max_d, "upper end of the default d90 sweep 10,30,100,... (0 = size of theta)")
      ->capture_default_str();
  cmd->add_option("--max-bisect", a->max_bisect, "bisection runs at most")->capture_default_str();
  cmd->add_option("--steps", a->steps, "training steps per run")->capture_default_str();
  cmd->add_option("--batch", a->batch, "examples per step")->capture_default_str();
  cmd->add_option("--lr", a->lr, "Adam rate for lambda/direct head; theta_d gets lr/sqrt(d)")->capture_default_str();
  cmd->add_option("--full-lr", a->full_lr, "Adam rate of the full fine-tuning baseline")->capture_default_str();
  cmd->add_flag("--no-lr-scaling", a->no_lr_scaling, "theta_d uses --lr unscaled");
  cmd->add_flag("--no-full", a->no_full, "skip the full fine-tuning baseline (no target, no d90)");
  cmd->add_option("--head", a->head, "projected (head trained through theta_d, as in the paper) or direct")
      ->capture_default_str();
  cmd->add_option("--pool", a->pool, "mean, first or last token of the final hidden states")->capture_default_str();
  cmd->add_option("--max-len", a->max_len, "longer snippets are skipped (not truncated)")->capture_default_str();
  cmd->add_option("--max-train", a->max_train, "training examples, balanced across classes")->capture_default_str();
  cmd->add_option("--max-valid", a->max_valid, "validation examples, balanced across classes")->capture_default_str();
  cmd->add_option("--eval-every", a->eval_every, "also evaluate every N steps; the best is reported (0 = end only)")
      ->capture_default_str();
  cmd->add_option("--seed", a->seed, "projections, head init, data sample and order")->capture_default_str();
  cmd->add_flag("--random-init", a->random_init, "ignore the weights: draw them from config.json (untrained control)");
  cmd->add_option("--device", a->device, "cpu or cuda[:N]")->capture_default_str();
  cmd->add_option("--threads", a->threads, "CPU threads (0 = all)")->capture_default_str();
  cmd->add_option("--out", a->out, "output directory: curve.csv, said.json")->required();
  cmd->callback(guarded("said", [a] { run_said(*a); }));
}

void add_bench_said_command(CLI::App& app) {
  auto* b = bench_command(app).add_subcommand("said", "Seconds per fine-tuning step: SAID/DID (Fastfood) vs full");
  auto a = std::make_shared<BenchSaidArgs>();
  b->add_option("--d", a->ds, "comma-separated subspace sizes")->capture_default_str();
  b->add_option("--d-model", a->d_model)->capture_default_str();
  b->add_option("--layers", a->layers)->capture_default_str();
  b->add_option("--heads", a->heads)->capture_default_str();
  b->add_option("--vocab", a->vocab)->capture_default_str();
  b->add_option("--seq", a->seq, "tokens per example")->capture_default_str();
  b->add_option("--batch", a->batch)->capture_default_str();
  b->add_option("--steps", a->steps, "timed steps per mode")->capture_default_str();
  b->add_option("--threads", a->threads, "CPU threads (0 = all)")->capture_default_str();
  b->add_option("--seed", a->seed)->capture_default_str();
  b->callback(guarded("bench said", [a] { bench_said(*a); }));
}

static const CommandRegistration registration{60, add_said_command};
static const CommandRegistration bench_registration{91, add_bench_said_command};

}  // namespace ps::cli
