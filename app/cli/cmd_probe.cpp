// probescope probe ast|distance|depth|linear: sweeps over stores × layers × k × seeds (probes/sweep.h);
// probescope probe show: one snippet's gold and recovered tree (probes/show.h).
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <tuple>

#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "data/corpus/load.h"
#include "models/util/files.h"
#include "probes/results.h"
#include "probes/show.h"
#include "probes/sweep.h"

namespace ps::cli {

namespace {

struct SweepArgs {
  ps::probes::SweepOptions opt;
  std::string ks = "128", seeds = "1", split = "0.8,0.1,0.1", normalize = "scale", task = "0/1";
  uint64_t split_seed = 123;
};

// Test metric (mean ± std over seeds) and the validation metric that chooses layer and k, real task, per
// (model, language, layer, k); then the (layer, k) chosen on validation per model, and the baselines.
void print_overview(const std::string& results_json, ps::probes::ProbeKind kind) {
  const std::string metric = ps::probes::main_metric(kind), vmetric = "valid_" + metric;
  const auto rows = ps::probes::read_results(results_json);
  const auto cells = ps::probes::summarise_results(rows, metric);
  const auto vcells = ps::probes::summarise_results(rows, vmetric);
  bool control = false;
  for (const auto& c : cells) control = control || c.has_control;
  std::printf("%-24s %-10s %5s %5s %6s %18s %10s %9s %10s\n", "model", "language", "layer", "k", "seeds",
              (metric + " (test)").c_str(), "valid", "converged", control ? "selectivity" : "");
  for (const auto& c : cells) {
    double valid = std::nan(""), conv = 0;
    for (const auto& v : vcells)
      if (v.model == c.model && v.language == c.language && v.layer == c.layer && v.k == c.k) valid = v.mean;
    int n = 0;
    for (const auto& r : rows)
      if (!r.control && r.model == c.model && r.language == c.language && r.layer == c.layer && r.k == c.k)
        conv += r.value("converged") == 1, ++n;
    char mstd[40];
    std::snprintf(mstd, sizeof mstd, "%.4f ± %.4f", c.mean, c.std);
    std::printf("%-24s %-10s %5d %5d %6d %18s %10.4f %5d/%-3d", c.model.c_str(), c.language.c_str(), c.layer, c.k,
                c.n_seeds, mstd, valid, static_cast<int>(conv), n);
    if (c.has_control) std::printf(" %10.4f", c.selectivity);
    std::printf("\n");
  }
  for (const auto& b : ps::probes::select_on_validation(rows, metric))
    std::printf("chosen on validation: %s%s%s layer %d k %d: valid %.4f, test %s %.4f ± %.4f (%d seeds)\n",
                b.model.c_str(), b.language.empty() ? "" : " ", b.language.c_str(), b.layer, b.k, b.valid_mean,
                metric.c_str(), b.test_mean, b.test_std, b.n_seeds);
  const auto baselines = ps::probes::read_baselines(results_json);
  if (!baselines.empty()) {
    std::printf("baselines on the store's own gold test trees (%s, mean ± std over seeds):\n", metric.c_str());
    for (const auto& b : baselines) {
      std::printf("  %-24s %-26s %s %.4f ± %.4f", b.model.c_str(), b.name.c_str(),
                  b.layer >= 0 ? ("layer " + std::to_string(b.layer)).c_str() : "       ", b.f1_mean, b.f1_std);
      if (b.name == "gold_through_alignment")
        std::printf("  (%lld of %lld adjacent pairs with identical vectors)", static_cast<long long>(b.identical_pairs),
                    static_cast<long long>(b.n_pairs));
      std::printf("\n");
    }
  }
}

void run_sweep(SweepArgs& a, ps::probes::ProbeKind kind) {
  auto& o = a.opt;
  o.kind = kind;
  o.ks = ps::probes::parse_int_list(a.ks, "--k");
  o.seeds.clear();
  for (int s : ps::probes::parse_int_list(a.seeds, "--seeds")) {
    if (s < 0) throw InputError("--seeds: seeds must not be negative");
    o.seeds.push_back(static_cast<uint64_t>(s));
  }
  ps::probes::parse_split(a.split, o.split);
  o.normalize = ps::probes::parse_normalize(a.normalize);
  o.split.seed = a.split_seed;
  std::tie(o.task_index, o.task_count) = ps::probes::parse_task_slice(a.task, "--task");
  Progress progress(std::string("probe ") + ps::probes::kind_name(kind), 0, "fits");
  o.progress = &progress;
  o.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  ps::probes::SweepResult r;
  {
    // First Ctrl-C: stop at the next epoch boundary with every finished fit saved.
    CancelOnInterrupt interrupt(progress);
    r = ps::probes::run_probe_sweep(o);
  }
  progress.finish();
  print_overview(r.results_json, kind);
  std::printf("%d fits trained, %d already done\n%s\n%s\n%s\n", r.fits_trained, r.fits_skipped, r.results_csv.c_str(),
              r.summary_csv.c_str(), r.results_json.c_str());
  if (!r.baselines_csv.empty()) std::printf("%s\n", r.baselines_csv.c_str());
}

void add_sweep_command(CLI::App& probe, ps::probes::ProbeKind kind, const std::string& help) {
  auto a = std::make_shared<SweepArgs>();
  auto& o = a->opt;
  auto* cmd = probe.add_subcommand(ps::probes::kind_name(kind), help);
  cmd->add_option("--store", o.stores, "activation store (.h5) from `probescope extract`; repeat for more models")
      ->required();
  cmd->add_option("--layers", o.layers,
                  "all, 0,4,8 or -1 (layer L = hidden_states[L]: 0 = embeddings; negative from the end)")
      ->capture_default_str();
  cmd->add_option("--k", a->ks,
                  kind == ps::probes::ProbeKind::linear ? "ignored (the linear probe is full rank)"
                  : kind == ps::probes::ProbeKind::ast  ? "probe ranks (dimension of the syntactic subspace), e.g. 8,16,32,64,128"
                                                        : "ranks of B, e.g. 64,128 (0 = full rank)")
      ->capture_default_str();
  cmd->add_option("--seeds", a->seeds,
                  "training seeds (initialisation, shuffling, control task, random-d baseline), e.g. 1,2,3: summary.csv "
                  "and the overview give mean ± std over them")
      ->capture_default_str();
  cmd->add_option("--out", o.out_dir, "output directory: results.csv/.json, summary.csv, probes/")->required();
  if (kind != ps::probes::ProbeKind::distance)
    cmd->add_flag("--control", o.control,
                  "also fit the control task (labels shuffled per word type) and report selectivity");
  cmd->add_option("--epochs", o.epochs,
                  "maximum epochs (0 = default: 20; structural 30). A fit whose best epoch is this cap is reported "
                  "with converged = 0 and a warning")
      ->capture_default_str();
  cmd->add_option("--steps-per-epoch", o.steps_per_epoch,
                  "minibatch steps per epoch, sampled from reshuffled passes over the train split so small train "
                  "sets are not under-trained (625 = the paper's 20,000 snippets / batch 32); 0 = one pass per epoch")
      ->capture_default_str();
  cmd->add_option("--normalize", a->normalize,
                  "rescale each layer's vectors with train-split statistics: none, scale (one scalar per layer: unit "
                  "RMS per coordinate) or standardize (per-coordinate mean 0, variance 1); saved with each probe")
      ->capture_default_str();
  cmd->add_option("--batch-size", o.batch_size, "snippets per batch (0 = default: 32; structural 20; linear 256 words)")
      ->capture_default_str();
  cmd->add_option("--lr", o.lr, "Adam learning rate (0 = default 1e-3)")->capture_default_str();
  cmd->add_option("--patience", o.patience, "early stopping patience in epochs (0 = default: 5; linear 3)")
      ->capture_default_str();
  cmd->add_option("--threads", o.threads, "CPU threads for training (0 = LibTorch's setting)")->capture_default_str();
  if (kind == ps::probes::ProbeKind::ast)
    cmd->add_option("--bf16", o.bf16,
                    "the projection h·P in bfloat16 (fp32 accumulation, parameters and validation in fp32): off "
                    "(exact, reproducible across machines), on, or auto (bf16 only if measured faster here)")
        ->capture_default_str();
  cmd->add_option("--split", a->split,
                  "train,valid,test fractions by a seeded hash of the snippet id, or 'corpus' (the corpus's splits)")
      ->capture_default_str();
  cmd->add_option("--split-seed", a->split_seed, "seed of the split hash")->capture_default_str();
  cmd->add_option("--max-train", o.split.max_train, "at most this many train snippets (0 = all; paper: 20000)");
  cmd->add_option("--max-valid", o.split.max_valid, "at most this many validation snippets (paper: 2000)");
  cmd->add_option("--max-test", o.split.max_test, "at most this many test snippets (paper: 4000)");
  cmd->add_flag("--verbose", o.log_epochs, "one line per epoch");
  cmd->add_option("--task", a->task,
                  "run only slice i of N of the grid (fit g of stores x layers x k x seeds x tasks when g % N == i), "
                  "for one array task; `probescope study collect` joins the slices")
      ->capture_default_str();
  const std::string name = std::string("probe ") + ps::probes::kind_name(kind);
  cmd->callback(guarded(name, [a, kind] { run_sweep(*a, kind); }));
}

struct ShowArgs {
  std::string store, probe, snippet, corpus;
  bool json = false, sexp = false;
};

void run_show(const ShowArgs& a) {
  const ps::store::StoreReader reader(a.store);
  const ps::probes::SavedAstProbe probe = ps::probes::load_ast_probe(a.probe);
  const int64_t index = ps::probes::find_snippet(reader, a.snippet);
  // Word texts come from the corpus (the store keeps byte spans, not text): --corpus, else the
  // corpus_path extract recorded; without either, words print as w0, w1, ...
  std::string corpus = a.corpus;
  const auto it = reader.manifest().find("corpus_path");
  if (corpus.empty() && it != reader.manifest().end() && ps::file_exists(it->second)) corpus = it->second;
  std::vector<std::string> tokens;
  if (!corpus.empty()) {
    try {
      tokens = ps::probes::word_texts(ps::corpus::find(corpus, reader.id(index)).code, reader.words(index).spans);
    } catch (const ps::InputError& e) {
      if (!a.corpus.empty()) throw;  // asked for explicitly: a real error
      std::fprintf(stderr, "note: no word texts (%s); words print as w0, w1, ...\n", e.what());
      corpus.clear();
    }
  }
  const ps::probes::SnippetView v = ps::probes::predict_snippet(reader, probe, index, corpus.empty() ? nullptr : &tokens);
  if (a.json) {
    nlohmann::json j = {{"snippet", v.index}, {"id", v.id}, {"layer", v.layer}, {"probe", a.probe},
                        {"tokens", v.tokens}, {"gold_tree", ps::probes::to_bracket(v.gold, &v.tokens)},
                        {"predicted_tree", ps::probes::to_bracket(v.predicted, &v.tokens)},
                        {"d_gold", v.gold_d}, {"d_pred", v.pred_d}, {"c_gold", v.gold_c}, {"c_pred", v.pred_c},
                        {"u_gold", v.gold_u}, {"u_pred", v.pred_u}, {"precision", v.prf.precision},
                        {"recall", v.prf.recall}, {"f1", v.prf.f1}, {"matched", v.counts.matched},
                        {"n_gold", v.counts.gold}, {"n_predicted", v.counts.predicted}};
    std::cout << j.dump(1) << "\n";
    return;
  }
  std::printf("snippet %lld (%s): %zu words; probe %s, layer %d\n", static_cast<long long>(v.index), v.id.c_str(),
              v.tokens.size(), a.probe.c_str(), v.layer);
  std::printf("labelled F1 %.4f (precision %.4f, recall %.4f; %lld of %lld gold constituents recovered)\n\n", v.prf.f1,
              v.prf.precision, v.prf.recall, static_cast<long long>(v.counts.matched),
              static_cast<long long>(v.counts.gold));
  auto tree = [&](const ps::probes::DecodedTree& t) {
    return a.sexp ? ps::probes::to_bracket(t, &v.tokens) + "\n" : ps::probes::to_indented(t, v.tokens);
  };
  std::printf("## gold tree\n%s\n## predicted tree\n%s\n", tree(v.gold).c_str(), tree(v.predicted).c_str());
  std::printf("## (d, c, u): gold | predicted   (* = differs; d compared by order, not value)\n");
  std::printf("%4s  %-16s %3s %7s  %-28s %-28s %-20s %-20s\n", "i", "token", "d", "d^", "c gold", "c pred", "u gold",
              "u pred");
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    std::printf("%4zu  %-16s ", i, v.tokens[i].substr(0, 16).c_str());
    if (i + 1 < v.tokens.size())
      std::printf("%3d %7.2f  %-28s %-28s ", v.gold_d[i], v.pred_d[i], v.gold_c[i].c_str(),
                  (v.pred_c[i] + (v.pred_c[i] == v.gold_c[i] ? "" : " *")).c_str());
    else
      std::printf("%3s %7s  %-28s %-28s ", "", "", "", "");
    std::printf("%-20s %s\n", v.gold_u[i].c_str(), (v.pred_u[i] + (v.pred_u[i] == v.gold_u[i] ? "" : " *")).c_str());
  }
}

}  // namespace

void add_probe_command(CLI::App& app) {
  auto* probe = app.add_subcommand(
      "probe",
      "Train and evaluate probes on stored activations (AST-Probe, structural distance/depth, linear), sweeping "
      "stores x layers x k x seeds; show one snippet's recovered tree. Layer L = hidden_states[L].");
  probe->require_subcommand(1);
  using ps::probes::ProbeKind;
  add_sweep_command(*probe, ProbeKind::ast,
                    "AST-Probe (Hernandez Lopez et al. 2022): recover the binarised AST from a k-dim subspace; "
                    "labelled F1 (macro over snippets, and micro), c/u accuracies");
  add_sweep_command(*probe, ProbeKind::distance,
                    "structural distance probe (Hewitt & Manning 2019): tree distances between words; UUAS and "
                    "distance Spearman (mean over lengths 5-50)");
  add_sweep_command(*probe, ProbeKind::depth,
                    "structural depth probe: each word's depth in the AST; root accuracy and depth Spearman");
  add_sweep_command(*probe, ProbeKind::linear,
                    "linear probe: each word's u label (the unary AST node-type chain above it, <empty> if none); "
                    "accuracy, selectivity against the control task");

  auto a = std::make_shared<ShowArgs>();
  auto* show = probe->add_subcommand("show", "One snippet through a saved AST-Probe: gold vs recovered tree, (d, c, u), F1");
  show->add_option("--store", a->store, "activation store (.h5) holding the probe's layer")->required();
  show->add_option("--probe", a->probe, "AST-Probe file (OUT/probes/*.safetensors)")->required();
  show->add_option("--snippet", a->snippet, "snippet index or id")->required();
  show->add_option("--corpus", a->corpus, "corpus JSONL for the word texts (default: the store's corpus_path)");
  show->add_flag("--json", a->json, "machine-readable output");
  show->add_flag("--sexp", a->sexp, "trees as s-expressions instead of indented text");
  show->callback(guarded("probe show", [a] { run_show(*a); }));
}

static const CommandRegistration registration{40, add_probe_command};

}  // namespace ps::cli
