// Results of a sweep: settings resolution, the resume check, and the three output files.
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>
#include <tuple>

#include "models/util/files.h"
#include "probes/sweep_internal.h"

namespace ps::probes::sweep {

namespace {

std::string num(double v) {
  if (!std::isfinite(v)) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string csv_field(const nlohmann::json& v) {
  if (v.is_null()) return "";
  if (v.is_number_float()) return num(v.get<double>());
  if (v.is_number()) return v.dump();
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

double as_double(const nlohmann::json& v) { return v.is_number() ? v.get<double>() : std::nan(""); }

std::pair<double, double> mean_std(const std::vector<double>& v) {
  if (v.empty()) return {std::nan(""), std::nan("")};
  double mean = 0, var = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  for (double x : v) var += (x - mean) * (x - mean);
  return {mean, v.size() > 1 ? std::sqrt(var / static_cast<double>(v.size() - 1)) : 0.0};
}
}  // namespace

Settings resolve(const SweepOptions& o) {
  Settings s;
  s.kind = o.kind;
  switch (o.kind) {  // defaults of the probe configs (spec ast-probe.md §2, §6)
    case ProbeKind::ast: s.epochs = 20, s.batch_size = 32, s.patience = 5; break;
    case ProbeKind::distance:
    case ProbeKind::depth: s.epochs = 30, s.batch_size = 20, s.patience = 5; break;
    case ProbeKind::linear: s.epochs = 20, s.batch_size = 256, s.patience = 3; break;
  }
  if (o.epochs < 0 || o.batch_size < 0 || o.patience < 0 || o.lr < 0 || o.threads < 0 || o.steps_per_epoch < 0)
    throw InputError("probe: --epochs, --batch-size, --patience, --steps-per-epoch, --lr and --threads must not be negative");
  s.steps_per_epoch = o.steps_per_epoch;
  s.normalize = o.normalize;
  if (o.epochs) s.epochs = o.epochs;
  if (o.batch_size) s.batch_size = o.batch_size;
  if (o.patience) s.patience = o.patience;
  if (o.lr > 0) s.lr = o.lr;
  s.threads = o.threads;
  if (o.bf16 == "on") s.bf16 = AstProbeConfig::Bf16::on;
  else if (o.bf16 == "auto") s.bf16 = AstProbeConfig::Bf16::automatic;
  else if (o.bf16 != "off") throw InputError("probe: --bf16: expected off, on or auto, got '" + o.bf16 + "'");
  return s;
}

nlohmann::json settings_json(const SweepOptions& o, const Settings& s) {
  nlohmann::json j = {{"kind", kind_name(s.kind)},
          {"epochs", s.epochs},
          {"batch_size", s.batch_size},
          {"patience", s.patience},
          {"steps_per_epoch", s.steps_per_epoch},
          {"normalize", normalize_name(s.normalize)},
          {"lr", s.lr},
          {"split", o.split.corpus ? nlohmann::json("corpus") : nlohmann::json({o.split.train, o.split.valid, o.split.test})},
          {"split_seed", o.split.seed},
          {"max_split_sizes", {o.split.max_train, o.split.max_valid, o.split.max_test}}};
  // Only when asked for, so results written before the option existed still match an fp32 rerun.
  if (s.bf16 != AstProbeConfig::Bf16::off) j["bf16"] = o.bf16;
  return j;
}

namespace {

// Per probe kind: the metric columns, then the loss terms each beside its label prior.
struct KindColumns {
  std::vector<std::string> metrics, terms;
};

const KindColumns& columns_of(ProbeKind kind) {
  static const KindColumns ast{{"f1_macro", "precision_macro", "recall_macro", "f1_micro", "precision_micro",
                                "recall_micro", "c_accuracy", "u_accuracy", "valid_f1_macro"},
                               {"valid_loss_d", "prior_d", "valid_loss_c", "prior_c", "valid_loss_u", "prior_u"}};
  static const KindColumns distance{{"uuas", "spearman", "n_lengths", "valid_uuas"},
                                    {"valid_loss_distance_l1", "prior_distance_l1"}};
  static const KindColumns depth{{"root_accuracy", "spearman", "n_lengths", "valid_spearman"},
                                 {"valid_loss_depth_l1", "prior_depth_l1"}};
  static const KindColumns linear{{"accuracy", "valid_accuracy"}, {"valid_loss_ce", "prior_ce"}};
  switch (kind) {
    case ProbeKind::ast: return ast;
    case ProbeKind::distance: return distance;
    case ProbeKind::depth: return depth;
    case ProbeKind::linear: return linear;
  }
  return ast;
}

}  // namespace

const std::vector<std::string>& metric_columns(ProbeKind kind) { return columns_of(kind).metrics; }
const std::vector<std::string>& term_columns(ProbeKind kind) { return columns_of(kind).terms; }

Results::Results(const std::string& out_dir, const nlohmann::json& settings, ProbeKind kind)
    : dir_(out_dir), settings_(settings), kind_(kind) {
  namespace fs = std::filesystem;
  if (out_dir.empty()) throw InputError("probe: --out is required");
  std::error_code ec;
  fs::create_directories(fs::path(out_dir) / "probes", ec);
  if (ec) throw RuntimeError(where(out_dir, "cannot create directory: " + ec.message()));
  json_path_ = (fs::path(out_dir) / "results.json").string();
  csv_path_ = (fs::path(out_dir) / "results.csv").string();
  summary_path_ = (fs::path(out_dir) / "summary.csv").string();
  baselines_path_ = (fs::path(out_dir) / "baselines.csv").string();
  if (!file_exists(json_path_)) return;
  const nlohmann::json old = read_results_json(json_path_);
  const nlohmann::json& was = old["settings"];
  for (const auto& [k, v] : settings_.items())
    if (!was.contains(k) || was[k] != v)
      throw InputError(where(json_path_, "written with different settings (" + k + " is " + v.dump() + " here but " +
                                             (was.contains(k) ? was[k].dump() : "absent") +
                                             " in the file); use another --out or the same settings"));
  if (old.contains("baselines") && old["baselines"].is_array())
    for (const auto& b : old["baselines"]) baselines_.push_back(b);
  for (const auto& row : old["rows"]) {
    rows_.push_back(row);
    keys_.insert(key(row.at("model"), row.at("language"), row.at("layer"), row.at("k"), row.at("seed"),
                     row.at("task") == "control"));
  }
}

std::string Results::key(const std::string& model, const std::string& language, int layer, int k, uint64_t seed,
                         bool control) {
  return model + "\x1f" + language + "\x1f" + std::to_string(layer) + "\x1f" + std::to_string(k) + "\x1f" +
         std::to_string(seed) + "\x1f" + (control ? "control" : "real");
}

void Results::add(nlohmann::json row) {
  keys_.insert(key(row.at("model"), row.at("language"), row.at("layer"), row.at("k"), row.at("seed"),
                   row.at("task") == "control"));
  rows_.push_back(std::move(row));
  write();
}

void Results::add_all(std::vector<nlohmann::json> rows) {
  for (auto& row : rows) {
    keys_.insert(key(row.at("model"), row.at("language"), row.at("layer"), row.at("k"), row.at("seed"),
                     row.at("task") == "control"));
    rows_.push_back(std::move(row));
  }
  write();
}

void Results::set_baseline(const std::string& model, const std::string& language, const BaselineScore& b) {
  const auto [f1, f1_std] = mean_std(b.f1_macro);
  const auto [micro, micro_std] = mean_std(b.f1_micro);
  nlohmann::json j = {{"model", model},       {"language", language},     {"baseline", b.name},
                      {"layer", b.layer},     {"f1_macro_mean", f1},      {"f1_macro_std", f1_std},
                      {"f1_micro_mean", micro}, {"f1_micro_std", micro_std}, {"n_seeds", b.f1_macro.size()},
                      {"n_snippets", b.n_snippets}, {"f1_macro", b.f1_macro}};
  if (b.name == "gold_through_alignment") j["identical_pairs"] = b.identical_pairs, j["n_pairs"] = b.n_pairs;
  for (auto& old : baselines_)
    if (old.value("model", "") == model && old.value("language", "") == language && old.value("baseline", "") == b.name &&
        old.value("layer", -2) == b.layer) {
      old = std::move(j);
      write();
      return;
    }
  baselines_.push_back(std::move(j));
  write();
}

void Results::write() const {
  nlohmann::json doc = {{"format", kResultsFormat}, {"settings", settings_}, {"rows", rows_}};
  if (!baselines_.empty()) doc["baselines"] = baselines_;
  if (!grid_.is_null()) doc["grid"] = grid_;
  const std::vector<std::string>& metrics = metric_columns(kind_);
  const std::vector<std::string>& terms = term_columns(kind_);
  const std::vector<std::string> head = {"model", "language", "store", "layer", "k", "seed", "task"};
  const std::vector<std::string> tail = {"epochs", "best_epoch", "max_epochs", "converged", "steps_per_epoch",
                                         "seconds", "n_train", "n_valid", "n_test", "probe"};
  std::ostringstream csv;
  std::string sep;
  for (const auto* cols : {&head, &metrics, &terms, &tail})
    for (const auto& c : *cols) csv << sep << c, sep = ",";
  csv << "\n";
  for (const auto& row : rows_) {
    sep.clear();
    for (const auto* cols : {&head, &metrics, &terms, &tail})
      for (const auto& c : *cols) csv << sep << csv_field(row.contains(c) ? row[c] : nlohmann::json()), sep = ",";
    csv << "\n";
  }
  // Summary: mean and sample std over seeds per (model, language, layer, k, task).
  using Group = std::tuple<std::string, std::string, int, int, std::string>;
  std::map<Group, std::vector<const nlohmann::json*>> groups;
  for (const auto& row : rows_)
    groups[{row.at("model"), row.at("language"), row.at("layer"), row.at("k"), row.at("task")}].push_back(&row);
  auto stats = [](const std::vector<const nlohmann::json*>& rows, const std::string& col) {
    std::vector<double> v;
    for (const auto* r : rows)
      if (r->contains(col) && std::isfinite(as_double((*r)[col]))) v.push_back(as_double((*r)[col]));
    return mean_std(v);
  };
  std::ostringstream sum;
  sum << "model,language,layer,k,task,n_seeds";
  std::vector<std::string> cols = metrics;
  cols.insert(cols.end(), terms.begin(), terms.end());
  cols.insert(cols.end(), {"epochs", "best_epoch", "converged", "seconds"});
  for (const auto& c : cols) sum << "," << c << "_mean," << c << "_std";
  sum << ",selectivity\n";
  for (const auto& [g, rows] : groups) {
    const auto& [model, language, layer, k, task] = g;
    sum << csv_field(model) << "," << csv_field(language) << "," << layer << "," << k << "," << task << ","
        << rows.size();
    for (const auto& c : cols) {
      const auto [m, s] = stats(rows, c);
      sum << "," << num(m) << "," << num(s);
    }
    // Selectivity (Hewitt & Liang): the main metric minus the control task's, on the real rows.
    std::string sel;
    const auto ctrl = groups.find({model, language, layer, k, "control"});
    if (task == "real" && ctrl != groups.end())
      sel = num(stats(rows, main_metric(kind_)).first - stats(ctrl->second, main_metric(kind_)).first);
    sum << "," << sel << "\n";
  }
  if (!baselines_.empty()) {
    std::ostringstream b;
    const std::vector<std::string> bcols = {"model",         "language",      "baseline",     "layer",
                                            "f1_macro_mean", "f1_macro_std",  "f1_micro_mean", "f1_micro_std",
                                            "n_seeds",       "n_snippets",    "identical_pairs", "n_pairs"};
    sep.clear();
    for (const auto& c : bcols) b << sep << c, sep = ",";
    b << "\n";
    for (const auto& row : baselines_) {
      sep.clear();
      for (const auto& c : bcols) b << sep << csv_field(row.contains(c) ? row[c] : nlohmann::json()), sep = ",";
      b << "\n";
    }
    write_file_atomic(baselines_path_, b.str());
  }
  write_file_atomic(json_path_, doc.dump(1) + "\n");
  write_file_atomic(csv_path_, csv.str());
  write_file_atomic(summary_path_, sum.str());
}

}  // namespace ps::probes::sweep

namespace ps::probes {

const char* main_metric(ProbeKind kind) {
  switch (kind) {
    case ProbeKind::ast: return "f1_macro";
    case ProbeKind::distance: return "uuas";
    case ProbeKind::depth: return "spearman";
    case ProbeKind::linear: return "accuracy";
  }
  return "";
}

}  // namespace ps::probes
