// Study → Plan: one stage per step of the pipeline, one task per unit of independent work, every task's output
// under STORE/<kind>/<hash of its settings and inputs>/ (plan.h).
#include "app/study/expand.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "app/study/expand_internal.h"
#include "models/util/error.h"

namespace ps::study {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace detail;

std::string collected_summary(const std::string& dir, const std::string& language) {
  return (fs::path(dir) / language / "probe_summary.csv").string();
}
std::string collected_baselines(const std::string& dir, const std::string& language) {
  return (fs::path(dir) / language / "baselines.csv").string();
}


namespace {

// `dtype = "auto"` is decided once, here, for the whole study. `extract --dtype auto` times a matmul in each
// process, so under load two runs of one task (local and Slurm, or two shards of one store) could pick
// different dtypes and write different activations under one hash. The CPU's flags are a stable stand-in for
// that timing: bfloat16 where it has the bf16 dot-product instructions (avx512_bf16, amx_bf16) that make it ~2x
// faster, else float32. The concrete dtype is in every extract task's settings and command line.
std::string study_dtype(const std::string& requested) {
  if (requested != "auto") return requested;
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line);
    for (std::string f; words >> f;)
      if (f == "avx512_bf16" || f == "amx_bf16") return "bfloat16";
    return "float32";
  }
  return "float32";
}

void expand_models_and_stores(const Study& s, Plan& p, Builder& b, std::map<std::string, std::string>& model_dir,
                              std::map<std::string, std::string>& model_input) {
  b.stage("intervene", "intervene", {});
  for (const auto& m : s.models) {
    model_dir[m.name] = m.path;
    model_input[m.name] = model_hash(m.path);
    if (m.intervene.empty()) continue;
    const auto& t = b.add("intervene", "intervene/" + m.name, {{"intervene", m.intervene}}, {model_input[m.name]}, {},
                          "model", [&](const std::string& out) {
                            std::vector<std::string> a = {"intervene", m.path, "--out", out, "--force"};
                            a.insert(a.end(), m.intervene.begin(), m.intervene.end());
                            return a;
                          });
    model_dir[m.name] = t.output;
  }
  b.stage("extract", "extract", {"intervene"});
  ExtractSpec x = s.extract;
  x.dtype = study_dtype(x.dtype);
  auto extract_task = [&](const ModelSpec& m, const CorpusSpec& c, const std::string& id, int shard, int shards,
                          int64_t limit, const std::string& attention_layers, const std::string& per_split = "",
                          const std::string& splits_override = "") {
    const std::string splits = splits_override.empty() ? c.splits : splits_override;
    json settings = {{"corpus_splits", splits}, {"limit", limit},        {"layers", x.layers},
                     {"store_dtype", x.store_dtype}, {"dtype", x.dtype},  {"pool", x.pool},
                     {"token_budget", x.token_budget}, {"label", m.name}, {"random_weights", m.random_weights},
                     {"random_scope", m.random_scope}, {"shard", std::to_string(shard) + "/" + std::to_string(shards)},
                     {"attention_layers", attention_layers}};
    if (!per_split.empty()) settings["limit_per_split"] = per_split;  // only when set: older plans keep their hashes
    std::vector<std::string> deps;
    if (b.has("intervene/" + m.name)) deps.push_back("intervene/" + m.name);
    const std::vector<std::string> inputs = {deps.empty() ? model_input[m.name] : std::string("intervened"),
                                             file_hash(c.path)};
    return b.add("extract", id, settings, inputs, deps, "shard.h5",
                 [&](const std::string& out) {
                   std::vector<std::string> a = {"extract", "--model", model_dir[m.name], "--corpus", c.path,
                                                 "--limit", std::to_string(limit),
                                                 "--layers", x.layers, "--label", m.name, "--threads", "{threads}",
                                                 "--store-dtype", x.store_dtype, "--dtype", x.dtype, "--pool", x.pool,
                                                 "--token-budget", std::to_string(x.token_budget), "--out", out};
                   if (!splits.empty()) a.insert(a.end(), {"--splits", splits});
                   if (!per_split.empty()) a.insert(a.end(), {"--limit-per-split", per_split});
                   if (shards > 1) a.insert(a.end(), {"--shard", std::to_string(shard) + "/" + std::to_string(shards)});
                   if (m.random_weights >= 0)
                     a.insert(a.end(), {"--random-weights", std::to_string(m.random_weights), "--random-scope", m.random_scope});
                   if (!attention_layers.empty()) a.insert(a.end(), {"--attention-layers", attention_layers});
                   return a;
                 },
                 0).id;
  };
  for (const auto& m : s.models)
    for (const auto& c : s.corpora)
      for (int i = 0; i < x.shards; ++i)
        extract_task(m, c, "extract/" + m.name + "." + c.language + ".s" + std::to_string(i), i, x.shards, c.limit, "", c.limit_per_split);
  for (const auto& a : s.attention)
    for (const auto& m : s.models)
      for (const auto& c : s.corpora)
        if (m.name == a.model && c.language == a.language)
          extract_task(m, c, "extract/attention." + a.name, 0, 1, a.limit, a.layers, "", a.splits);

  b.stage("merge", "merge", {"extract"});
  for (const auto& m : s.models)
    for (const auto& c : s.corpora) {
      // One shard: its store is the store (no copy); probes and ID read the extract task's output.
      if (x.shards == 1) {
        b.alias("merge/" + m.name + "." + c.language, "extract/" + m.name + "." + c.language + ".s0");
        continue;
      }
      std::vector<std::string> shards;
      for (int i = 0; i < x.shards; ++i) shards.push_back("extract/" + m.name + "." + c.language + ".s" + std::to_string(i));
      b.add("merge", "merge/" + m.name + "." + c.language, {{"shards", x.shards}}, {}, shards, "store.h5",
            [&](const std::string& out) {
              std::vector<std::string> a = {"merge", out};
              for (const auto& sh : shards) a.push_back(b.task(sh).output);
              a.push_back("--overwrite");
              return a;
            });
    }
}

void expand_probes(const Study& s, Builder& b) {
  for (const auto& pr : s.probes) {
    const std::string stage = "probe." + pr.name;
    std::vector<std::string> after = {"merge", "extract"};
    std::string ref, ref_model;
    if (pr.layers.rfind("best:", 0) == 0) {
      ref = pr.layers.substr(5);
      if (auto at = ref.find('@'); at != std::string::npos) ref_model = ref.substr(at + 1), ref = ref.substr(0, at);
      after.push_back("probe." + ref);
    }
    b.stage(stage, "probe", after);
    for (const auto& m : s.models) {
      if (!wants(pr.models, m.name)) continue;
      for (const auto& c : s.corpora) {
        if (!wants(pr.languages, c.language)) continue;
        const std::string store_task = "merge/" + m.name + "." + c.language;
        std::vector<std::string> best_from;
        if (!ref.empty()) {
          const std::string whose = ref_model.empty() ? m.name : ref_model;
          for (const auto& q : s.probes)
            if (q.name == ref)
              for (int i = 0; i < q.tasks; ++i) {
                const std::string id = "probe." + ref + "/" + whose + "." + c.language + ".t" + std::to_string(i);
                if (!b.has(id)) throw InputError(s.file + ": probe " + pr.name + ": layers '" + pr.layers + "': probe " + ref +
                                                 " does not probe model " + whose + " on " + c.language);
                best_from.push_back(id);
              }
        }
        for (int i = 0; i < pr.tasks; ++i) {
          const std::string slice = std::to_string(i) + "/" + std::to_string(pr.tasks);
          json settings = {{"kind", pr.kind},     {"layers", ref.empty() ? pr.layers : "best"}, {"k", pr.k},
                           {"seeds", pr.seeds},   {"normalize", pr.normalize}, {"control", pr.control},
                           {"epochs", pr.epochs}, {"steps_per_epoch", pr.steps_per_epoch}, {"batch_size", pr.batch_size},
                           {"patience", pr.patience}, {"lr", pr.lr}, {"split", pr.split}, {"split_seed", pr.split_seed},
                           {"max", {pr.max_train, pr.max_valid, pr.max_test}}, {"task", slice}};
          std::vector<std::string> deps = {store_task};
          deps.insert(deps.end(), best_from.begin(), best_from.end());
          Task& t = const_cast<Task&>(b.add(
              stage, stage + "/" + m.name + "." + c.language + ".t" + std::to_string(i), settings, {}, deps, "sweep",
              [&](const std::string& out) {
                std::vector<std::string> a = {"probe",  pr.kind, "--store", b.task(store_task).output, "--layers",
                                              ref.empty() ? pr.layers : "{best-layer}", "--k", join(pr.k), "--seeds",
                                              join(pr.seeds), "--normalize", pr.normalize, "--epochs",
                                              std::to_string(pr.epochs), "--steps-per-epoch", std::to_string(pr.steps_per_epoch),
                                              "--batch-size", std::to_string(pr.batch_size), "--patience",
                                              std::to_string(pr.patience), "--lr", number(pr.lr), "--split",
                                              pr.split, "--split-seed", std::to_string(pr.split_seed), "--max-train",
                                              std::to_string(pr.max_train), "--max-valid", std::to_string(pr.max_valid),
                                              "--max-test", std::to_string(pr.max_test), "--threads", "1", "--out", out};
                if (pr.control) a.push_back("--control");
                if (pr.tasks > 1) a.insert(a.end(), {"--task", slice});
                return a;
              }));
          if (!best_from.empty()) {
            for (const auto& f : best_from) t.best_layer_from.push_back(b.task(f).output + "/results.json");
            t.best_layer_model = ref_model.empty() ? m.name : ref_model;
            if (t.best_layer_model != m.name) {
              t.best_layer_ref_store = b.task("merge/" + t.best_layer_model + "." + c.language).output;
              t.best_layer_own_store = b.task(store_task).output;
            }
            t.best_layer_k = 0;
            for (const auto& q : s.probes)
              if (q.name == ref) t.best_layer_k = q.k.front();
            t.best_layer_metric = pr.kind == "ast" ? "valid_f1_macro" : pr.kind == "distance" ? "valid_uuas"
                                : pr.kind == "depth" ? "valid_spearman" : "valid_accuracy";
          }
        }
      }
    }
  }
}

}  // namespace

Plan expand_study(const Study& s, const std::string& dir, const std::string& probescope) {
  Plan p;
  p.study_file = s.file;
  p.study_name = s.name;
  p.dir = fs::absolute(dir).lexically_normal().string();
  p.store = s.cache.empty() ? (fs::path(p.dir) / "store").string() : s.cache;
  p.probescope = fs::absolute(probescope).lexically_normal().string();
  p.results_dir = (fs::path(p.dir) / "results").string();
  p.slurm = s.slurm;
  Builder b(s, p);
  std::map<std::string, std::string> model_dir, model_input;
  expand_models_and_stores(s, p, b, model_dir, model_input);
  expand_probes(s, b);
  expand_late_stages(s, p, b);
  // Stages without tasks (no interventions, no attention) are left out; dependencies on them were never added.
  std::vector<Stage> kept;
  for (auto& st : p.stages)
    if (!st.tasks.empty()) kept.push_back(std::move(st));
  p.stages = std::move(kept);
  // A stage depends on exactly the stages holding its tasks' dependencies (what Slurm's afterok chains).
  std::map<std::string, size_t> stage_of;
  for (size_t i = 0; i < p.stages.size(); ++i)
    for (const auto& t : p.stages[i].tasks) stage_of[t.id] = i;
  for (size_t i = 0; i < p.stages.size(); ++i) {
    std::vector<bool> needs(p.stages.size(), false);
    for (const auto& t : p.stages[i].tasks)
      for (const auto& d : t.depends_on) needs[stage_of.at(d)] = true;
    p.stages[i].depends_on.clear();
    for (size_t j = 0; j < i; ++j)
      if (needs[j]) p.stages[i].depends_on.push_back(p.stages[j].name);
  }
  return p;
}

}  // namespace ps::study
