// The executor registry, what every executor shares (thread resolution, reports, recorded states), and the
// default executor: local processes.
#include "app/study/executor.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::study {

namespace {
std::map<std::string, ExecutorFactory>& registry() {
  static std::map<std::string, ExecutorFactory> r;
  return r;
}
}  // namespace

ExecutorRegistration::ExecutorRegistration(const std::string& name, ExecutorFactory factory) { registry()[name] = factory; }

std::vector<std::string> executor_names() {
  std::vector<std::string> names;
  for (const auto& [n, f] : registry()) names.push_back(n);
  return names;
}

std::unique_ptr<Executor> make_executor(const std::string& name) {
  const auto it = registry().find(name);
  if (it == registry().end()) {
    std::string known;
    for (const auto& n : executor_names()) known += (known.empty() ? "" : ", ") + n;
    throw InputError("--executor '" + name + "': unknown (" + known + ")");
  }
  return it->second();
}

int resolve_threads(int threads) {
  if (threads > 0) return threads;
  if (const char* s = std::getenv("SLURM_CPUS_PER_TASK")) {
    const int n = std::atoi(s);
    if (n > 0) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

std::string RunReport::summary() const {
  std::string s;
  for (const auto& t : tasks)
    if (t.state == TaskState::failed) s += "failed: " + t.id + " (" + t.message + "); log: " + t.log + "\n";
  s += std::to_string(tasks.size()) + " tasks: " + std::to_string(done) + " run, " + std::to_string(skipped) +
       " already done, " + std::to_string(failed) + " failed, " + std::to_string(cancelled) + " not run (a dependency failed), " +
       std::to_string(pending) + " pending";
  if (submitted) s += ", " + std::to_string(submitted) + " submitted";
  return s + "\n";
}

std::map<std::string, TaskRecord> Executor::states(const Plan& plan) {
  std::map<std::string, TaskRecord> out;
  for (const auto& st : plan.stages)
    for (const auto& t : st.tasks) out[t.id] = read_task_state(plan, t);
  return out;
}

void record_executor(const Plan& plan, const std::string& name) {
  write_file_atomic((std::filesystem::path(plan.dir) / "executor.json").string(), nlohmann::json({{"executor", name}}).dump() + "\n");
}

std::string recorded_executor(const std::string& dir) {
  const auto p = (std::filesystem::path(dir) / "executor.json").string();
  if (!file_exists(p)) return "local";
  try {
    return nlohmann::json::parse(read_file(p)).value("executor", "local");
  } catch (const std::exception&) {
    return "local";
  }
}

}  // namespace ps::study
