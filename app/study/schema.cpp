// The study file: TOML through toml++, every key checked against the schema (schema.h, README "Batch studies").
#include "app/study/schema.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "app/study/schema_table.h"

namespace ps::study {

namespace {

namespace fs = std::filesystem;
using namespace detail;

void parse_models(Study& s, Table& root, const toml::table& doc, const std::string& base) {
  int i = 0;
  std::vector<ModelSpec> checkpoint_models;  // after every [[model]], in step order (results list them last)
  for (const toml::table* t : table_array(root, doc, "model")) {
    Table m(*t, s.file, "model[" + std::to_string(i++) + "].");
    ModelSpec spec;
    spec.name = m.str("name", "");
    spec.path = resolve(base, m.str("path", ""));
    if (spec.path.empty()) m.fail("path", "is required (a Hugging Face model directory)");
    if (!fs::is_regular_file(fs::path(spec.path) / "config.json")) m.fail("path", spec.path + ": no config.json (not a model directory)");
    if (spec.name.empty()) spec.name = fs::path(spec.path).filename().string();
    spec.random_weights = m.integer("random_weights", -1, -1, INT64_MAX);
    spec.random_scope = m.one_of("random_scope", "full", {"full", "encoder"});
    if (m.has("random_scope") && spec.random_weights < 0) m.fail("random_scope", "needs random_weights");
    spec.intervene = m.strings("intervene", {});
    const bool checkpoints = m.boolean("checkpoints", false);
    m.check_unknown();
    s.models.push_back(spec);
    if (!checkpoints) continue;
    // checkpoints = true: every PATH/checkpoints/step-N becomes a model "step-N" (N without leading zeros).
    std::vector<fs::path> dirs;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fs::path(spec.path) / "checkpoints", ec))
      if (e.is_directory() && e.path().filename().string().rfind("step-", 0) == 0) dirs.push_back(e.path());
    if (dirs.empty()) m.fail("checkpoints", spec.path + "/checkpoints: no step-* directories");
    std::sort(dirs.begin(), dirs.end());
    for (const auto& d : dirs) {
      ModelSpec c = spec;
      const std::string digits = d.filename().string().substr(5);
      if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
        m.fail("checkpoints", d.string() + ": expected step-<number>");
      c.checkpoint_step = std::stoll(digits);
      c.name = "step-" + std::to_string(c.checkpoint_step);
      c.path = d.string();
      c.is_checkpoint = true;
      checkpoint_models.push_back(c);
    }
  }
  s.models.insert(s.models.end(), checkpoint_models.begin(), checkpoint_models.end());
}

void parse_probes(Study& s, Table& root, const toml::table& doc) {
  int i = 0;
  for (const toml::table* t : table_array(root, doc, "probe")) {
    Table p(*t, s.file, "probe[" + std::to_string(i) + "].");
    ProbeSpec spec;
    spec.name = p.str("name", "p" + std::to_string(i));
    ++i;
    spec.kind = p.one_of("kind", "ast", {"ast", "distance", "depth", "linear"});
    spec.models = p.strings("models", {});
    spec.languages = p.strings("languages", {});
    spec.layers = p.str("layers", "all");
    spec.k = p.ints("k", {128}, 0);
    spec.seeds = p.ints("seeds", {1}, 0);
    spec.normalize = p.one_of("normalize", "scale", {"none", "scale", "standardize"});
    spec.control = p.boolean("control", false);
    spec.epochs = static_cast<int>(p.integer("epochs", 0, 0, 100000));
    spec.steps_per_epoch = static_cast<int>(p.integer("steps_per_epoch", 625, 0, 100000000));
    spec.batch_size = static_cast<int>(p.integer("batch_size", 0, 0, 1 << 20));
    spec.summary = p.str("summary", "");
    if (spec.summary.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != std::string::npos ||
        spec.summary == "all" || spec.summary == "probe")
      p.fail("summary", "'" + spec.summary + "': letters, digits, - and _ only, and not 'all' or 'probe'");
    spec.patience = static_cast<int>(p.integer("patience", 0, 0, 100000));
    spec.lr = p.number("lr", 0);
    spec.split = p.str("split", "0.8,0.1,0.1");
    spec.split_seed = p.integer("split_seed", 123, 0, INT64_MAX);
    spec.max_train = p.integer("max_train", 0, 0, INT64_MAX);
    spec.max_valid = p.integer("max_valid", 0, 0, INT64_MAX);
    spec.max_test = p.integer("max_test", 0, 0, INT64_MAX);
    spec.tasks = static_cast<int>(p.integer("tasks", 1, 1, 1000000));
    if (spec.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != std::string::npos)
      p.fail("name", "'" + spec.name + "': letters, digits, - and _ only");
    for (const auto& q : s.probes)
      if (q.name == spec.name) p.fail("name", "'" + spec.name + "' is already the name of another probe");
    if (spec.layers.rfind("best:", 0) == 0) {
      std::string ref = spec.layers.substr(5), model;
      if (auto at = ref.find('@'); at != std::string::npos) model = ref.substr(at + 1), ref = ref.substr(0, at);
      bool found = false;
      for (const auto& q : s.probes) found = found || q.name == ref;
      if (!found) p.fail("layers", "'" + spec.layers + "': no earlier probe named '" + ref + "'");
    }
    p.check_unknown();
    s.probes.push_back(spec);
  }
}

}  // namespace

// The other tables (corpora, extract, id, attention, figures, report, resources, slurm): schema_rest.cpp.
void parse_rest(Study& s, detail::Table& root, const toml::table& doc, const std::string& base);

Study load_study(const std::string& path, const std::vector<std::string>& overrides) {
  Study s;
  s.file = fs::absolute(path).lexically_normal().string();
  toml::table doc;
  try {
    doc = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    throw InputError(path + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
  }
  for (const auto& o : overrides) apply_override(doc, o);
  const std::string base = fs::path(s.file).parent_path().string();
  Table root(doc, path, "");
  if (const toml::table* st = sub_table(root, doc, "study")) {
    Table t(*st, path, "study.");
    s.name = t.str("name", "");
    s.cache = resolve(base, t.str("cache", ""));
    t.check_unknown();
  }
  if (s.name.empty()) s.name = fs::path(path).stem().string();
  parse_models(s, root, doc, base);
  if (s.models.empty()) root.fail("model", "at least one [[model]] is required");
  for (size_t i = 0; i < s.models.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (s.models[i].name == s.models[j].name)
        root.fail("model", "two models are named '" + s.models[i].name + "' (give each a distinct name)");
  parse_rest(s, root, doc, base);
  parse_probes(s, root, doc);
  for (const auto& p : s.probes) {
    for (const auto& m : p.models) {
      bool ok = false;
      for (const auto& mm : s.models) ok = ok || mm.name == m;
      if (!ok) root.fail("probe", p.name + ": models: no model named '" + m + "'");
    }
    for (const auto& l : p.languages) {
      bool ok = false;
      for (const auto& c : s.corpora) ok = ok || c.language == l;
      if (!ok) root.fail("probe", p.name + ": languages: no corpus with language '" + l + "'");
    }
  }
  if (!s.report.baselines_probe.empty()) {
    bool ok = false;
    for (const auto& p : s.probes) ok = ok || p.name == s.report.baselines_probe;
    if (!ok) root.fail("report", "baselines_probe: no probe named '" + s.report.baselines_probe + "'");
  }
  for (const auto& p : s.probes)
    for (const auto& c : s.corpora)
      if (!p.summary.empty() && p.summary == c.language)  // collect writes both to OUT/<name>/
        root.fail("probe", p.name + ": summary: '" + p.summary + "' is the name of a corpus language");
  if (!s.report.headline.empty()) {
    bool ok = false;
    for (const auto& p : s.probes) ok = ok || p.summary == s.report.headline;
    if (!ok) root.fail("report", "headline: no [[probe]] has summary = '" + s.report.headline + "'");
  }
  root.check_unknown();
  return s;
}

}  // namespace ps::study
