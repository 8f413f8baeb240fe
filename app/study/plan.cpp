// plan.json: the expanded DAG on disk (the one file every executor and exec-task reads), and its text form.
#include "app/study/plan.h"

#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::study {

namespace {

nlohmann::json to_json(const Task& t) {
  nlohmann::json j = {{"id", t.id},         {"stage", t.stage},           {"index", t.index},
                      {"hash", t.hash},     {"output_dir", t.output_dir}, {"output", t.output},
                      {"log", t.log},       {"argv", t.argv},             {"depends_on", t.depends_on},
                      {"threads", t.threads}};
  if (!t.best_layer_from.empty())
    j["best_layer"] = {{"from", t.best_layer_from}, {"model", t.best_layer_model}, {"k", t.best_layer_k},
                       {"metric", t.best_layer_metric}};
  if (!t.best_layer_ref_store.empty())
    j["best_layer"]["stores"] = {t.best_layer_ref_store, t.best_layer_own_store};
  return j;
}

Task task_from(const nlohmann::json& j) {
  Task t;
  t.id = j.at("id"), t.stage = j.at("stage"), t.index = j.at("index"), t.hash = j.at("hash");
  t.output_dir = j.at("output_dir"), t.output = j.at("output"), t.log = j.at("log");
  t.argv = j.at("argv").get<std::vector<std::string>>();
  t.depends_on = j.at("depends_on").get<std::vector<std::string>>();
  t.threads = j.value("threads", 1);
  if (j.contains("best_layer")) {
    const auto& b = j["best_layer"];
    t.best_layer_from = b.at("from").get<std::vector<std::string>>();
    t.best_layer_model = b.at("model"), t.best_layer_k = b.at("k"), t.best_layer_metric = b.at("metric");
    if (b.contains("stores")) t.best_layer_ref_store = b["stores"].at(0), t.best_layer_own_store = b["stores"].at(1);
  }
  return t;
}

}  // namespace

const Stage& Plan::stage(const std::string& name) const {
  for (const auto& s : stages)
    if (s.name == name) return s;
  std::string names;
  for (const auto& s : stages) names += (names.empty() ? "" : ", ") + s.name;
  throw InputError("--stage '" + name + "': the plan has no such stage (" + names + ")");
}

const Task& Plan::task(const std::string& stage_name, int index) const {
  const Stage& s = stage(stage_name);
  if (index < 0 || index >= static_cast<int>(s.tasks.size()))
    throw InputError("--index " + std::to_string(index) + ": stage " + stage_name + " has tasks 0.." +
                     std::to_string(static_cast<int>(s.tasks.size()) - 1));
  return s.tasks[static_cast<size_t>(index)];
}

const Task* Plan::find_task(const std::string& id) const {
  for (const auto& s : stages)
    for (const auto& t : s.tasks)
      if (t.id == id) return &t;
  return nullptr;
}

size_t Plan::task_count() const {
  size_t n = 0;
  for (const auto& s : stages) n += s.tasks.size();
  return n;
}

std::string plan_path(const std::string& dir) { return (std::filesystem::path(dir) / "plan.json").string(); }

void write_plan(const Plan& p) {
  nlohmann::json stages = nlohmann::json::array();
  for (const auto& s : p.stages) {
    nlohmann::json tasks = nlohmann::json::array();
    for (const auto& t : s.tasks) tasks.push_back(to_json(t));
    stages.push_back({{"name", s.name}, {"kind", s.kind}, {"depends_on", s.depends_on}, {"tasks", tasks},
                      {"cpus_per_task", s.cpus_per_task}, {"mem_mb", s.mem_mb}, {"time_limit", s.time_limit}});
  }
  const nlohmann::json doc = {{"format", kPlanFormat}, {"study_file", p.study_file}, {"study_name", p.study_name},
                              {"dir", p.dir},          {"store", p.store},           {"probescope", p.probescope},
                              {"results_dir", p.results_dir}, {"slurm", p.slurm},    {"stages", stages}};
  std::filesystem::create_directories(p.dir);
  write_file_atomic(plan_path(p.dir), doc.dump(1) + "\n");
}

Plan read_plan(const std::string& dir) {
  const std::string path = plan_path(dir);
  if (!file_exists(path)) throw InputError(path + ": no plan here (run `probescope study run` or `study plan` first)");
  try {
    const auto doc = nlohmann::json::parse(read_file(path));
    if (doc.value("format", "") != kPlanFormat) throw InputError(path + ": not a study plan (format is not " + std::string(kPlanFormat) + ")");
    Plan p;
    p.study_file = doc.at("study_file"), p.study_name = doc.at("study_name"), p.dir = doc.at("dir");
    p.store = doc.at("store"), p.probescope = doc.at("probescope"), p.results_dir = doc.at("results_dir");
    p.slurm = doc.value("slurm", std::map<std::string, std::string>{});
    for (const auto& sj : doc.at("stages")) {
      Stage s;
      s.name = sj.at("name"), s.kind = sj.at("kind");
      s.depends_on = sj.at("depends_on").get<std::vector<std::string>>();
      s.cpus_per_task = sj.value("cpus_per_task", 1), s.mem_mb = sj.value("mem_mb", 0);
      s.time_limit = sj.value("time_limit", "");
      for (const auto& tj : sj.at("tasks")) s.tasks.push_back(task_from(tj));
      p.stages.push_back(std::move(s));
    }
    return p;
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path + ": malformed plan (" + e.what() + ")");
  }
}

std::vector<std::string> exec_task_prefix(const Plan& plan, const std::string& stage) {
  return {plan.probescope, "study", "exec-task", plan.dir, "--stage", stage, "--index"};
}

std::vector<std::string> exec_task_argv(const Plan& plan, const std::string& stage, int index) {
  auto argv = exec_task_prefix(plan, stage);
  argv.push_back(std::to_string(index));
  return argv;
}

std::string describe_plan(const Plan& p) {
  std::ostringstream o;
  o << "study " << p.study_name << " (" << p.study_file << "): " << p.stages.size() << " stages, " << p.task_count()
    << " tasks; store " << p.store << "\n";
  for (const auto& s : p.stages) {
    o << "stage " << s.name << " (" << s.tasks.size() << " tasks)";
    if (!s.depends_on.empty()) {
      o << " after";
      for (const auto& d : s.depends_on) o << " " << d;
    }
    o << "\n";
    for (const auto& t : s.tasks) {
      o << "  [" << t.index << "] " << t.id << " " << t.hash.substr(0, 12);
      if (!t.depends_on.empty()) o << " <- " << t.depends_on.size() << " tasks";
      o << "\n     ";
      for (size_t i = 1; i < t.argv.size(); ++i) o << " " << t.argv[i];
      o << "\n";
    }
  }
  return o.str();
}

}  // namespace ps::study
