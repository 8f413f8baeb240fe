#pragma once
// A study's expanded DAG (DIR/plan.json): the contract between the planner, `probescope study exec-task`
// and every executor (local processes, Slurm arrays). STABLE INTERFACE: the Slurm executor is written against
// this header; change it only by adding fields.
//
// Stages come in topological order (intervene → extract → merge → probe… → collect → id → attention →
// figures → report). A stage depends on whole earlier stages (what Slurm's afterok chains), and each task
// also lists the exact tasks it reads (what the local executor waits for and exec-task checks). Every task
// runs as `probescope study exec-task DIR --stage NAME --index I`, which runs the task's argv.
//
// Content addressing: a task's hash covers its settings and the hashes of its inputs (files it reads
// directly: models, corpora; and the tasks it depends on), and its output lives in STORE/<stage>/<hash>/,
// where STORE is DIR/store or a shared cache directory. A task is done when STORE/<stage>/<hash>/.done
// exists and names that hash, so a rerun skips it, a changed setting reruns exactly what depends on it,
// and two studies with the same cache share finished work.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ps::study {

inline constexpr const char* kPlanFormat = "probescope-study-plan/1";

struct Task {
  std::string id;                      // stable, human-readable, unique in the plan ("extract/trained.python.s0")
  std::string stage;                   // the stage it belongs to
  int index = 0;                       // its index within the stage (0-based; the Slurm array task index)
  std::string hash;                    // hex SHA-256 of its settings and its inputs' hashes
  std::string output_dir;              // STORE/<stage>/<hash>: everything the task writes lives here
  std::string output;                  // the main output inside output_dir (a store .h5, a results dir, a .md)
  std::string log;                     // DIR/logs/<stage>/<index>.log (stdout+stderr of every attempt, appended)
  std::vector<std::string> argv;       // the exact `probescope …` command (argv[0] = the probescope executable)
  std::vector<std::string> depends_on; // ids of the tasks whose outputs it reads
  int threads = 1;                     // what the task would use alone: 0 = all it is given (extract, id), 1 = probes
  // A probe task whose layer is the best layer of an earlier probe stage: argv holds "{best-layer}" and exec-task
  // replaces it, just before running, with the layer that has the best mean validation metric (real task) among
  // `best_layer_from` (results.json files of dependencies), for model `best_layer_model` and `best_layer_k`.
  std::vector<std::string> best_layer_from;
  std::string best_layer_model;
  int best_layer_k = 0;
  std::string best_layer_metric;       // "valid_f1_macro" (AST-Probe)
  // The stores of the model whose best layer it is and of the task's own model. When their depths differ (a
  // checkpoint from before the model grew), the layer is mapped to the same relative depth.
  std::string best_layer_ref_store, best_layer_own_store;
};

struct Stage {
  std::string name;                    // "extract", "merge", "probe.layers", "collect", "id", ...
  std::string kind;                    // intervene, extract, merge, probe, collect, id, attention, figures, report
  std::vector<std::string> depends_on; // names of earlier stages (every dependency of its tasks lies in them)
  std::vector<Task> tasks;             // index i = tasks[i]
  // Resources per task, from the study's [resources.<kind>] table (Slurm: --cpus-per-task, --mem, --time).
  int cpus_per_task = 1;
  int mem_mb = 0;                      // 0 = the cluster's default
  std::string time_limit;              // "" = the partition's default
};

struct Plan {
  std::string study_file;              // the TOML it came from (absolute)
  std::string study_name;
  std::string dir;                     // DIR (absolute): plan.json, logs/, state/, results/, slurm/
  std::string store;                   // STORE (absolute): DIR/store or the shared cache
  std::string probescope;              // the probescope executable every argv starts with (absolute)
  std::string results_dir;             // DIR/results: the study's collected CSVs, figures and report (links/copies)
  std::vector<Stage> stages;           // topological order
  // The study's [slurm] table verbatim as strings (partition, account, max_array_size, extra = "--qos=x;..."):
  // read by the Slurm executor only.
  std::map<std::string, std::string> slurm;

  const Stage& stage(const std::string& name) const;  // InputError naming the stage when absent
  const Task& task(const std::string& stage, int index) const;  // InputError when out of range
  const Task* find_task(const std::string& id) const;  // nullptr when absent
  size_t task_count() const;
};

// DIR/plan.json (written atomically) and back; InputError naming the file on anything malformed.
std::string plan_path(const std::string& dir);
void write_plan(const Plan& plan);
Plan read_plan(const std::string& dir);

// The command that runs one task of a plan, for every executor: probescope study exec-task DIR --stage S --index I.
// Slurm's array script appends the index: exec_task_prefix() + {"<index>"}.
std::vector<std::string> exec_task_argv(const Plan& plan, const std::string& stage, int index);
std::vector<std::string> exec_task_prefix(const Plan& plan, const std::string& stage);  // … --index

// The DAG as text (what `study plan` prints): one line per stage, then one per task with id, hash prefix,
// dependencies and argv; `with_states` adds each task's state (what `study status` prints).
std::string describe_plan(const Plan& plan);

}  // namespace ps::study
