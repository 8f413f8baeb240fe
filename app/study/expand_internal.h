#pragma once
// Internal to the planner (expand*.cpp): the Builder that adds stages and content-addressed tasks to a Plan.
#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/study/hashing.h"
#include "app/study/plan.h"
#include "app/study/schema.h"
#include "models/util/error.h"

namespace ps::study::detail {

namespace fs = std::filesystem;
using nlohmann::json;

inline std::string join(const std::vector<int>& v) {
  std::string s;
  for (int x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}
inline std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

class Builder {
 public:
  Builder(const Study& s, Plan& p) : s_(s), p_(p) {}

  Stage& stage(const std::string& name, const std::string& kind, std::vector<std::string> after) {
    for (auto& st : p_.stages)
      if (st.name == name) return st;
    Stage st;
    st.name = name, st.kind = kind;
    for (const auto& a : after)
      for (const auto& existing : p_.stages)
        if (existing.name == a && !existing.tasks.empty()) st.depends_on.push_back(a);
    const auto r = s_.resources.find(kind);
    if (r != s_.resources.end()) {
      auto get = [&](const char* k) { auto it = r->second.find(k); return it == r->second.end() ? std::string() : it->second; };
      if (!get("cpus").empty()) st.cpus_per_task = std::stoi(get("cpus"));
      if (!get("mem_mb").empty()) st.mem_mb = std::stoi(get("mem_mb"));
      st.time_limit = get("time");
    }
    p_.stages.push_back(std::move(st));
    return p_.stages.back();
  }

  // Adds a task: its hash from settings + inputs (the hashes of `deps` are appended to `inputs`), its output
  // dir from the hash, its argv from `argv(output)`.
  const Task& add(const std::string& stage_name, const std::string& id, json settings, std::vector<std::string> inputs,
                  const std::vector<std::string>& deps, const std::string& output_name,
                  const std::function<std::vector<std::string>(const std::string& output)>& argv, int threads = 1) {
    Stage* st = nullptr;
    for (auto& x : p_.stages)
      if (x.name == stage_name) st = &x;
    Task t;
    t.id = id, t.stage = stage_name, t.index = static_cast<int>(st->tasks.size());
    std::vector<std::string> dep_ids;
    for (const auto& d : deps) {
      inputs.push_back(task(d).hash);
      dep_ids.push_back(task(d).id);
    }
    settings["stage_kind"] = st->kind;
    t.hash = task_hash(settings, inputs);
    t.output_dir = (fs::path(p_.store) / st->kind / t.hash).string();
    t.output = (fs::path(t.output_dir) / output_name).string();
    t.log = (fs::path(p_.dir) / "logs" / stage_name / (std::to_string(t.index) + ".log")).string();
    t.argv = argv(t.output);
    t.argv.insert(t.argv.begin(), p_.probescope);
    t.depends_on = dep_ids;
    t.threads = threads;
    st->tasks.push_back(std::move(t));
    by_id_[id] = {stage_name, st->tasks.size() - 1};
    return st->tasks.back();
  }

  Task& task(const std::string& name) {
    const auto a = aliases_.find(name);
    const std::string& id = a == aliases_.end() ? name : a->second;
    const auto it = by_id_.find(id);
    if (it == by_id_.end()) throw RuntimeError("internal: study task " + id + " planned before its dependency");
    for (auto& st : p_.stages)
      if (st.name == it->second.first) return st.tasks[it->second.second];
    throw RuntimeError("internal: study stage " + it->second.first + " missing");
  }
  bool has(const std::string& id) const { return by_id_.count(id) > 0 || aliases_.count(id) > 0; }
  // `name` refers to task `id` (a one-shard study's "merge/<model>.<language>" is its extract task).
  void alias(const std::string& name, const std::string& id) { aliases_[name] = id; }

 private:
  const Study& s_;
  Plan& p_;
  std::map<std::string, std::pair<std::string, size_t>> by_id_;
  std::map<std::string, std::string> aliases_;
};

inline std::string number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

inline bool wants(const std::vector<std::string>& list, const std::string& name) {
  return list.empty() || std::find(list.begin(), list.end(), name) != list.end();
}


void expand_late_stages(const Study& s, Plan& p, Builder& b);  // expand_late.cpp: collect, id, attention, figures, report

}  // namespace ps::study::detail
