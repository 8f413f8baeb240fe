#pragma once
// The study file (TOML, toml++): what to study, parsed and validated. Every key is documented in the
// README's "Batch studies" section; an unknown key, a wrong type or a bad value is an InputError of one line,
// "FILE:LINE: KEY: problem". Relative paths are resolved against the study file's directory.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ps::study {

struct ModelSpec {
  std::string name;                   // label in every result (extract --label); unique
  std::string path;                   // Hugging Face model directory (absolute)
  int64_t random_weights = -1;        // >= 0: the architecture with random weights from this seed
  std::string random_scope = "full";  // full | encoder (keep the embeddings)
  std::vector<std::string> intervene; // `probescope intervene PATH --out NEW <these>` first, then extract NEW
  int64_t checkpoint_step = -1;       // from `checkpoints = true`: the step of this checkpoint
  bool is_checkpoint = false;
};

struct CorpusSpec {
  std::string language;               // unique
  std::string path;                   // corpus JSONL (absolute)
  std::string splits = "valid,test";  // extract --splits ("" = all)
  int64_t limit = 0;                  // extract --limit (0 = all)
  std::string limit_per_split;        // extract --limit-per-split: "N" or "train=3000,valid=500" ("" = no cap)
};

struct ExtractSpec {
  std::string layers = "all", store_dtype = "float16", dtype = "auto", pool = "mean";
  int shards = 1;                     // extract --shard i/N tasks per (model, corpus), joined by merge
  int64_t token_budget = 8192;
};

struct ProbeSpec {
  std::string name;                   // unique; the stage is "probe.<name>"
  std::string kind = "ast";           // ast | distance | depth | linear
  std::vector<std::string> models;    // model names (empty: every model)
  std::vector<std::string> languages; // (empty: every corpus)
  std::string layers = "all";         // all | 0,2,4 | best:<probe> | best:<probe>@<model>
  std::vector<int> k = {128};
  std::vector<int> seeds = {1};
  std::string normalize = "scale";    // none | scale | standardize
  bool control = false;
  int epochs = 0, steps_per_epoch = 625, batch_size = 0, patience = 0;
  double lr = 0;
  std::string split = "0.8,0.1,0.1";
  int64_t split_seed = 123;
  int64_t max_train = 0, max_valid = 0, max_test = 0;
  int tasks = 1;                      // slices of each sweep's grid (probe --task i/N), one task each
  // "" = joined into the study's summary with every other probe; a name = joined only with the probes of that
  // name, into collect/<name>/<language>: fits at another budget (a headline at the paper's) then never share
  // a grid cell with the quick grid's.
  std::string summary;
};

struct IdSpec {
  bool enabled = false;
  std::vector<std::string> estimators = {"twonn", "mle", "pca"};
  std::vector<std::string> models;    // (empty: every model)
  std::string layers = "all", points = "words", normalize = "scale";
  int64_t max_points = 20000, ci_reps = 100, seed = 0;  // `probescope id` defaults
};

struct AttentionSpec {                // a small attention-pattern store (extract --attention-layers) + stats
  std::string name;                   // unique
  std::string model, language;        // one model, one corpus
  std::string layers = "all";
  int64_t limit = 4;
  std::string splits;                 // extract --splits for these functions ("" = the corpus's splits)
  bool stats = true;                  // also `probescope attention stats` on it
};

struct FigureSpec {
  std::string name;                   // unique; output figures/<name>[_<language>]
  std::string kind = "lines";         // probescope plot <kind>
  bool per_language = false;          // one figure per corpus language
  // Arguments after `plot <kind>`; placeholders: {probe_summary} {id_csv} {language} {attention:<name>}
  // {model:<name>} (the model directory). --out is added.
  std::vector<std::string> args;
};

struct ReportSpec {
  bool enabled = false;
  std::string title = "Probescope study";
  std::string trained;                // model name of the trained model
  std::vector<std::string> random;    // random-weights baselines
  std::string baselines_probe;        // the probe whose baselines.csv the report reads (default: the first)
  std::string headline;               // a probe `summary` name: the trained-vs-baselines comparison reads it

  bool checkpoints = true;            // report every checkpoint model
  int64_t final_step = -1;            // -1: the trained model's train_log.csv last step, when present
  std::vector<std::string> setup;     // Setup lines; {language} substituted
  std::vector<std::string> figures;   // "NAME=CAPTION" of figures (per-language ones: {language} in CAPTION)
  std::vector<std::string> preamble;  // lines at the top of the combined report.md
  std::vector<std::string> shared_figures;  // "NAME=CAPTION" after the per-language sections
};

struct Study {
  std::string file;                   // absolute path of the TOML
  std::string name;
  std::string cache;                  // shared store directory (absolute; "" = DIR/store)
  std::vector<ModelSpec> models;
  std::vector<CorpusSpec> corpora;
  ExtractSpec extract;
  std::vector<ProbeSpec> probes;
  IdSpec id;
  std::vector<AttentionSpec> attention;
  std::vector<FigureSpec> figures;
  ReportSpec report;
  std::map<std::string, std::map<std::string, std::string>> resources;  // [resources.<stage kind>]
  std::map<std::string, std::string> slurm;                             // [slurm]
};

// Parses and validates; InputError "FILE:LINE: KEY: problem" on the first problem. `overrides` are
// `--set KEY=VALUE` settings applied to the file before validation (KEY `corpus.limit` sets every [[corpus]]'s
// limit, `corpus[1].limit` the second's, `extract.shards` a table's key); their errors name the --set.
Study load_study(const std::string& path, const std::vector<std::string>& overrides = {});

}  // namespace ps::study
