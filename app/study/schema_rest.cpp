// The study file's tables besides [[model]] and [[probe]] (schema.cpp): corpora, extraction, ID estimators,
// attention statistics, figures, the report, per-stage resources and the [slurm] table.
#include <filesystem>

#include "app/study/schema.h"
#include "app/study/schema_table.h"
#include "models/util/error.h"
#include "models/util/spec.h"

namespace ps::study {

namespace fs = std::filesystem;
using namespace detail;

namespace {

bool known_model(const Study& s, const std::string& name) {
  for (const auto& m : s.models)
    if (m.name == name) return true;
  return false;
}

bool known_language(const Study& s, const std::string& language) {
  for (const auto& c : s.corpora)
    if (c.language == language) return true;
  return false;
}

// Plain string tables ([slurm], [resources.extract]): values are strings, integers or booleans, kept as text.
std::map<std::string, std::string> string_table(const toml::table& t, const std::string& file, const std::string& prefix,
                                                const std::vector<std::string>& allowed) {
  Table tt(t, file, prefix);
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : t) {
    const std::string key(k.str());
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      tt.fail(key, "unknown key", &v);
    if (v.is_string()) out[key] = *v.value<std::string>();
    else if (v.is_integer()) out[key] = std::to_string(*v.value<int64_t>());
    else if (v.is_boolean()) out[key] = *v.value<bool>() ? "true" : "false";
    else tt.fail(key, "expected a string, an integer or a boolean", &v);
  }
  return out;
}

}  // namespace

void parse_rest(Study& s, Table& root, const toml::table& doc, const std::string& base) {
  const std::string& file = s.file;
  int i = 0;
  for (const toml::table* t : table_array(root, doc, "corpus")) {
    Table c(*t, file, "corpus[" + std::to_string(i++) + "].");
    CorpusSpec spec;
    spec.language = c.str("language", "");
    if (spec.language.empty()) c.fail("language", "is required");
    spec.path = resolve(base, c.str("path", ""));
    if (spec.path.empty()) c.fail("path", "is required (a corpus JSONL from `probescope corpus build`)");
    if (!fs::is_regular_file(spec.path)) c.fail("path", spec.path + ": no such file");
    spec.splits = c.str("splits", "valid,test");
    spec.limit = c.integer("limit", 0, 0, INT64_MAX);
    if (const toml::node* n = t->get("limit_per_split"); n && n->is_integer())
      spec.limit_per_split = std::to_string(c.integer("limit_per_split", 0, 0, INT64_MAX));
    else
      spec.limit_per_split = c.str("limit_per_split", "");
    try {
      ps::spec::named_counts(spec.limit_per_split, "'" + spec.limit_per_split + "'");  // a typo fails at load, not in a task
    } catch (const ps::InputError& e) {
      c.fail("limit_per_split", e.what());
    }
    if (known_language(s, spec.language)) c.fail("language", "'" + spec.language + "' is given by another [[corpus]]");
    c.check_unknown();
    s.corpora.push_back(spec);
  }
  if (s.corpora.empty()) root.fail("corpus", "at least one [[corpus]] is required");

  if (const toml::table* t = sub_table(root, doc, "extract")) {
    Table e(*t, file, "extract.");
    auto& x = s.extract;
    x.layers = e.str("layers", x.layers);
    x.store_dtype = e.one_of("store_dtype", x.store_dtype, {"float32", "float16", "bfloat16"});
    x.dtype = e.one_of("dtype", x.dtype, {"auto", "float32", "bfloat16", "float16"});
    x.pool = e.one_of("pool", x.pool, {"mean", "first", "last"});
    x.shards = static_cast<int>(e.integer("shards", 1, 1, 100000));
    x.token_budget = e.integer("token_budget", x.token_budget, 1, INT64_MAX);
    e.check_unknown();
  }

  if (const toml::table* t = sub_table(root, doc, "id")) {
    Table d(*t, file, "id.");
    auto& id = s.id;
    id.enabled = d.boolean("enabled", true);
    id.estimators = d.strings("estimators", id.estimators);
    for (const auto& est : id.estimators)
      if (est != "twonn" && est != "mle" && est != "pca") d.fail("estimators", "'" + est + "' is not one of twonn, mle, pca");
    id.models = d.strings("models", {});
    for (const auto& m : id.models)
      if (!known_model(s, m)) d.fail("models", "no model named '" + m + "'");
    id.layers = d.str("layers", id.layers);
    id.points = d.one_of("points", id.points, {"words", "snippets", "tokens"});
    id.normalize = d.one_of("normalize", id.normalize, {"none", "scale", "standardize"});
    id.max_points = d.integer("max_points", id.max_points, 0, INT64_MAX);
    id.ci_reps = d.integer("ci_reps", id.ci_reps, 0, 1000000);
    id.seed = d.integer("seed", id.seed, 0, INT64_MAX);
    d.check_unknown();
  }

  i = 0;
  for (const toml::table* t : table_array(root, doc, "attention")) {
    Table a(*t, file, "attention[" + std::to_string(i) + "].");
    AttentionSpec spec;
    spec.name = a.str("name", "attention" + std::to_string(i));
    ++i;
    spec.model = a.str("model", s.models.front().name);
    if (!known_model(s, spec.model)) a.fail("model", "no model named '" + spec.model + "'");
    spec.language = a.str("language", s.corpora.front().language);
    if (!known_language(s, spec.language)) a.fail("language", "no corpus with language '" + spec.language + "'");
    spec.layers = a.str("layers", "all");
    spec.limit = a.integer("limit", 4, 1, INT64_MAX);
    spec.splits = a.str("splits", "");
    spec.stats = a.boolean("stats", true);
    for (const auto& o : s.attention)
      if (o.name == spec.name) a.fail("name", "'" + spec.name + "' is already the name of another [[attention]]");
    a.check_unknown();
    s.attention.push_back(spec);
  }

  i = 0;
  for (const toml::table* t : table_array(root, doc, "figure")) {
    Table f(*t, file, "figure[" + std::to_string(i) + "].");
    FigureSpec spec;
    spec.name = f.str("name", "figure" + std::to_string(i));
    ++i;
    spec.kind = f.one_of("kind", "lines", {"lines", "heatmap", "mask", "attention", "tree"});
    spec.per_language = f.boolean("per_language", false);
    spec.args = f.strings("args", {});
    for (const auto& a : spec.args)
      if (a == "--out") f.fail("args", "--out is set by the study (figures/<name>)");
    for (const auto& o : s.figures)
      if (o.name == spec.name) f.fail("name", "'" + spec.name + "' is already the name of another [[figure]]");
    f.check_unknown();
    s.figures.push_back(spec);
  }

  if (const toml::table* t = sub_table(root, doc, "report")) {
    Table r(*t, file, "report.");
    auto& rp = s.report;
    rp.enabled = r.boolean("enabled", true);
    rp.title = r.str("title", rp.title);
    rp.trained = r.str("trained", s.models.front().name);
    if (!known_model(s, rp.trained)) r.fail("trained", "no model named '" + rp.trained + "'");
    rp.random = r.strings("random", {});
    for (const auto& m : rp.random)
      if (!known_model(s, m)) r.fail("random", "no model named '" + m + "'");
    rp.baselines_probe = r.str("baselines_probe", "");
    rp.headline = r.str("headline", "");  // checked against the probes in load_study (parsed after this)
    rp.checkpoints = r.boolean("checkpoints", true);
    rp.final_step = r.integer("final_step", -1, -1, INT64_MAX);
    rp.setup = r.strings("setup", {});
    rp.figures = r.strings("figures", {});
    rp.preamble = r.strings("preamble", {});
    rp.shared_figures = r.strings("shared_figures", {});
    for (const auto* list : {&rp.figures, &rp.shared_figures})
      for (const auto& f : *list) {
        const auto eq = f.find('=');
        bool ok = false;
        for (const auto& fig : s.figures) ok = ok || (eq != std::string::npos && fig.name == f.substr(0, eq));
        if (!ok) r.fail(list == &rp.figures ? "figures" : "shared_figures", "'" + f + "': expected NAME=CAPTION with NAME a [[figure]]");
      }
    r.check_unknown();
  }

  if (const toml::table* t = sub_table(root, doc, "resources")) {
    for (const auto& [k, v] : *t) {
      const std::string kind(k.str());
      static const std::vector<std::string> kinds = {"intervene", "extract", "merge", "probe", "collect",
                                                     "id", "attention", "figures", "report"};
      Table rt(*t, file, "resources.");
      if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) rt.fail(kind, "not a stage kind", &v);
      if (!v.is_table()) rt.fail(kind, "expected a table (cpus, mem_mb, time)", &v);
      s.resources[kind] = string_table(*v.as_table(), file, "resources." + kind + ".", {"cpus", "mem_mb", "time"});
    }
  }
  if (const toml::table* t = sub_table(root, doc, "slurm")) s.slurm = string_table(*t, file, "slurm.", {});
}

}  // namespace ps::study
