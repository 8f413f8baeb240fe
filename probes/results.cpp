#include "probes/results.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <tuple>

#include <nlohmann/json.hpp>

#include "models/util/csv.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "models/util/spec.h"
#include "probes/sweep_internal.h"

namespace ps::probes {

namespace {

namespace fs = std::filesystem;

// results.csv names probes relative to its own folder ("probes/…").
std::string resolve_probe(const std::string& probe, const std::string& results_path) {
  if (probe.empty() || fs::path(probe).is_absolute()) return probe;
  return (fs::path(results_path).parent_path() / probe).lexically_normal().string();
}

int to_int(const std::string& s, const std::string& col, const std::string& at) {
  int64_t v = 0;
  if (!spec::try_int(s, v) || v < -(1 << 30) || v > (1 << 30))
    throw InputError(at + ": " + col + " '" + s + "' is not an integer");
  return static_cast<int>(v);
}

uint64_t to_seed(const std::string& s, const std::string& at) {
  char* end = nullptr;
  const unsigned long long v = s.empty() || s[0] == '-' ? 0 : std::strtoull(s.c_str(), &end, 10);
  if (end != s.c_str() + s.size()) throw InputError(at + ": seed '" + s + "' is not a non-negative integer");
  return v;
}

double to_value(const std::string& s, const std::string& col, const std::string& at) {
  if (s.empty()) return std::nan("");
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) throw InputError(at + ": " + col + " '" + s + "' is not a number");
  return v;
}

bool is_control(const std::string& task, const std::string& at) {
  if (task != "real" && task != "control") throw InputError(at + ": task '" + task + "' is neither real nor control");
  return task == "control";
}

std::vector<ResultRow> read_csv_results(const std::string& path) {
  const auto records = csv::parse(read_file(path), path);
  if (records.empty()) throw InputError(path + ":1: empty file (no header)");
  const auto& head = records.front().fields;
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < head.size(); ++i) col[head[i]] = i;
  for (const char* need : {"model", "language", "layer", "k", "seed", "task"})
    if (!col.count(need)) throw InputError(path + ":1: no column '" + need + "' (not a probe results.csv)");
  std::vector<ResultRow> rows;
  for (size_t r = 1; r < records.size(); ++r) {
    const auto& f = records[r].fields;
    const std::string at = path + ":" + std::to_string(records[r].line);
    if (f.size() != head.size())
      throw InputError(at + ": " + std::to_string(f.size()) + " fields, the header has " + std::to_string(head.size()));
    ResultRow row;
    for (size_t i = 0; i < head.size(); ++i) {
      const std::string& c = head[i];
      if (c == "model") row.model = f[i];
      else if (c == "language") row.language = f[i];
      else if (c == "store") row.store = f[i];
      else if (c == "layer") row.layer = to_int(f[i], c, at);
      else if (c == "k") row.k = to_int(f[i], c, at);
      else if (c == "seed") row.seed = to_seed(f[i], at);
      else if (c == "task") row.control = is_control(f[i], at);
      else if (c == "probe") row.probe = resolve_probe(f[i], path);
      else row.values[c] = to_value(f[i], c, at);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<ResultRow> read_json_results(const std::string& path) {
  const nlohmann::json doc = sweep::read_results_json(path);
  std::vector<ResultRow> rows;
  for (size_t r = 0; r < doc["rows"].size(); ++r) {
    const auto& j = doc["rows"][r];
    const std::string at = path + ": row " + std::to_string(r + 1);
    try {
      ResultRow row;
      row.model = j.at("model").get<std::string>();
      row.language = j.at("language").get<std::string>();
      row.store = j.value("store", "");
      row.layer = j.at("layer").get<int>();
      row.k = j.at("k").get<int>();
      row.seed = j.at("seed").get<uint64_t>();
      row.control = is_control(j.at("task").get<std::string>(), at);
      row.probe = resolve_probe(j.value("probe", ""), path);
      for (const auto& [name, v] : j.items())
        if (name != "layer" && name != "k" && name != "seed" && (v.is_number() || v.is_null()))
          row.values[name] = v.is_null() ? std::nan("") : v.get<double>();
      rows.push_back(std::move(row));
    } catch (const nlohmann::json::exception& e) {
      throw InputError(at + ": " + e.what());
    }
  }
  return rows;
}

}  // namespace

double ResultRow::value(const std::string& name) const {
  const auto it = values.find(name);
  return it == values.end() ? std::nan("") : it->second;
}

std::vector<ResultRow> read_results(const std::string& path) {
  if (!file_exists(path)) throw InputError(where(path, "no such results file"));
  return fs::path(path).extension() == ".json" ? read_json_results(path) : read_csv_results(path);
}

std::vector<ResultSummary> summarise_results(const std::vector<ResultRow>& rows, const std::string& metric) {
  using Cell = std::tuple<std::string, std::string, int, int>;
  std::map<Cell, std::pair<double, int>> real, control;  // sum, count
  std::map<Cell, std::vector<double>> values;
  for (const auto& r : rows) {
    const double v = r.value(metric);
    if (!std::isfinite(v)) continue;
    auto& acc = (r.control ? control : real)[{r.model, r.language, r.layer, r.k}];
    acc.first += v, ++acc.second;
    if (!r.control) values[{r.model, r.language, r.layer, r.k}].push_back(v);
  }
  std::vector<ResultSummary> out;
  for (const auto& [cell, acc] : real) {
    ResultSummary s;
    std::tie(s.model, s.language, s.layer, s.k) = cell;
    s.n_seeds = acc.second;
    s.mean = acc.first / acc.second;
    double var = 0;
    for (double v : values[cell]) var += (v - s.mean) * (v - s.mean);
    s.std = s.n_seeds > 1 ? std::sqrt(var / (s.n_seeds - 1)) : 0.0;
    const auto c = control.find(cell);
    if (c != control.end()) s.has_control = true, s.selectivity = s.mean - c->second.first / c->second.second;
    out.push_back(s);
  }
  return out;
}

std::vector<ValidationChoice> select_on_validation(const std::vector<ResultRow>& rows, const std::string& metric) {
  const auto valid = summarise_results(rows, "valid_" + metric);
  const auto test = summarise_results(rows, metric);
  std::map<std::pair<std::string, std::string>, ValidationChoice> best;
  for (const auto& v : valid) {
    auto it = best.find({v.model, v.language});
    if (it != best.end() && !(v.mean > it->second.valid_mean)) continue;  // ties: the first (lowest layer, k)
    ValidationChoice c;
    c.model = v.model, c.language = v.language, c.layer = v.layer, c.k = v.k, c.valid_mean = v.mean;
    c.test_mean = std::nan(""), c.test_std = std::nan("");
    for (const auto& t : test)
      if (t.model == v.model && t.language == v.language && t.layer == v.layer && t.k == v.k)
        c.test_mean = t.mean, c.test_std = t.std, c.n_seeds = t.n_seeds;
    best[{v.model, v.language}] = c;
  }
  std::vector<ValidationChoice> out;
  for (auto& [key, c] : best) out.push_back(c);
  return out;
}

std::vector<BaselineRow> read_baselines(const std::string& results_json) {
  const nlohmann::json doc = sweep::read_results_json(results_json);
  std::vector<BaselineRow> out;
  if (!doc.contains("baselines")) return out;
  if (!doc["baselines"].is_array()) throw InputError(where(results_json, "\"baselines\" is not a list"));
  for (size_t i = 0; i < doc["baselines"].size(); ++i) {
    const auto& j = doc["baselines"][i];
    try {
      BaselineRow b;
      b.model = j.at("model").get<std::string>();
      b.language = j.at("language").get<std::string>();
      b.name = j.at("baseline").get<std::string>();
      b.layer = j.at("layer").get<int>();
      b.f1_mean = j.at("f1_macro_mean").is_null() ? std::nan("") : j.at("f1_macro_mean").get<double>();
      b.f1_std = j.at("f1_macro_std").is_null() ? std::nan("") : j.at("f1_macro_std").get<double>();
      b.n_seeds = j.at("n_seeds").get<int>();
      b.identical_pairs = j.value("identical_pairs", int64_t{0});
      b.n_pairs = j.value("n_pairs", int64_t{0});
      out.push_back(std::move(b));
    } catch (const nlohmann::json::exception& e) {
      throw InputError(where(results_json, "baseline " + std::to_string(i + 1) + ": " + e.what()));
    }
  }
  return out;
}

namespace sweep {

nlohmann::json read_results_json(const std::string& path) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(where(path, std::string("not valid JSON: ") + e.what()));
  }
  if (!doc.is_object() || doc.value("format", "") != kResultsFormat || !doc.contains("rows") || !doc["rows"].is_array())
    throw InputError(where(path, "not a probescope probe results file"));
  return doc;
}

}  // namespace sweep

}  // namespace ps::probes
