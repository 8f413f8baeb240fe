// Joining sweeps: the slices of one grid (probe --task i/N) and several sweeps of one study, into one results
// directory whose summary is recomputed over every seed.
#include <filesystem>
#include <map>
#include <set>

#include "models/util/spec.h"
#include "probes/sweep_internal.h"

namespace ps::probes {

std::pair<int, int> parse_task_slice(const std::string& text, const std::string& flag) {
  const auto slash = text.find('/');
  int64_t i = -1, n = 0;
  if (slash == std::string::npos || !spec::try_int(text.substr(0, slash), i) || !spec::try_int(text.substr(slash + 1), n) ||
      n < 1 || i < 0 || i >= n)
    throw InputError(flag + " '" + text + "': expected i/N with 0 <= i < N");
  return {static_cast<int>(i), static_cast<int>(n)};
}

namespace {

std::string cell_name(const nlohmann::json& c) {
  return c.at("model").get<std::string>() + (c.at("language").get<std::string>().empty() ? "" : " " + c.at("language").get<std::string>()) +
         " layer " + std::to_string(c.at("layer").get<int>()) + " k " + std::to_string(c.at("k").get<int>()) + " seed " +
         std::to_string(c.at("seed").get<uint64_t>()) + " " + c.at("task").get<std::string>();
}

std::string cell_key(const nlohmann::json& c) {
  return sweep::Results::key(c.at("model"), c.at("language"), c.at("layer"), c.at("k"), c.at("seed"), c.at("task") == "control");
}

}  // namespace

void join_sweep_results(const std::vector<std::vector<std::string>>& groups, const std::string& out_dir) {
  struct Seen {
    std::string file;
    nlohmann::json settings;
  };
  std::map<std::string, Seen> seen;  // cell key → where it came from
  std::vector<nlohmann::json> rows;
  std::map<std::string, nlohmann::json> baselines;  // model|language|name|layer → row
  std::vector<std::string> baseline_order;
  nlohmann::json settings;
  std::string kind;
  for (const auto& group : groups) {
    std::map<std::string, std::string> in_group;  // cell → file, within this sweep
    for (const auto& file : group) {
      const nlohmann::json doc = sweep::read_results_json(file);
      const nlohmann::json& st = doc.at("settings");
      if (kind.empty()) kind = st.value("kind", "ast"), settings = st;
      if (st.value("kind", "ast") != kind)
        throw InputError(file + ": a " + st.value("kind", "?") + " sweep joined with " + kind + " sweeps");
      std::set<std::string> expected;
      if (doc.contains("grid"))
        for (const auto& c : doc["grid"].at("cells")) expected.insert(cell_key(c));
      std::set<std::string> got;
      for (const auto& row : doc.at("rows")) {
        const std::string key = cell_key(row);
        got.insert(key);
        if (doc.contains("grid") && !expected.count(key))
          throw InputError(file + ": cell " + cell_name(row) + " is not in this slice's grid (" + doc["grid"].value("task", "?") + ")");
        if (in_group.count(key))
          throw InputError("duplicated grid cell " + cell_name(row) + ": in " + in_group[key] + " and " + file);
        in_group[key] = file;
        const auto it = seen.find(key);
        if (it != seen.end()) {
          if (it->second.settings != st)
            throw InputError("duplicated grid cell " + cell_name(row) + " with different settings: in " + it->second.file +
                             " and " + file);
          continue;  // the same fit probed by two sweeps: once in the joined results
        }
        seen[key] = {file, st};
        rows.push_back(row);
      }
      for (const auto& c : doc.contains("grid") ? doc["grid"].at("cells") : nlohmann::json::array())
        if (!got.count(cell_key(c)))
          throw InputError(file + ": missing grid cell " + cell_name(c) + " (slice " + doc["grid"].value("task", "?") +
                           " did not finish it; rerun that task)");
      if (doc.contains("baselines"))
        for (const auto& b : doc["baselines"]) {
          const std::string key = b.value("model", "") + "\x1f" + b.value("language", "") + "\x1f" + b.value("baseline", "") +
                                  "\x1f" + std::to_string(b.value("layer", -2));
          const auto it = baselines.find(key);
          if (it == baselines.end()) baseline_order.push_back(key), baselines[key] = b;
          else if (b.value("n_seeds", 0) > it->second.value("n_seeds", 0)) it->second = b;
        }
    }
  }
  if (kind.empty()) throw InputError("collect: no sweep results to join");
  // A rerun of collect starts from nothing (Results would resume the old rows).
  for (const char* f : {"results.json", "results.csv", "summary.csv", "baselines.csv"})
    std::filesystem::remove(std::filesystem::path(out_dir) / f);
  sweep::Results out(out_dir, settings, parse_kind(kind));
  for (const auto& k : baseline_order) out.add_baseline_json(baselines[k]);
  out.add_all(std::move(rows));
}

}  // namespace ps::probes
