// The stages after the probes: collect (all probe slices joined), ID by language, attention statistics,
// figures, per-language reports and the publish step that lays the study's results out under DIR/results.
#include "app/study/expand.h"
#include "app/study/expand_internal.h"

#include <fstream>

namespace ps::study::detail {

namespace {

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size()) s.replace(at, from.size(), to);
  return s;
}

// A figure's or report's arguments with placeholders filled in; `deps` collects the tasks they read.
struct Substituter {
  const Study& s;
  Builder& b;
  std::string collect_id;
  std::map<std::string, std::string> id_task;  // language → id task

  std::string operator()(std::string arg, const std::string& language, std::vector<std::string>& deps) const {
    auto need = [&](const std::string& id) {
      if (std::find(deps.begin(), deps.end(), id) == deps.end()) deps.push_back(id);
      return b.task(id).output;
    };
    if (arg.find("{probe_summary}") != std::string::npos) {
      if (collect_id.empty()) throw InputError(s.file + ": {probe_summary} is used but the study has no [[probe]]");
      const std::string dir = need(collect_id);
      arg = replace_all(arg, "{probe_summary}", language.empty() ? dir + "/probe_summary.csv" : collected_summary(dir, language));
    }
    if (arg.find("{baselines}") != std::string::npos && !collect_id.empty())
      arg = replace_all(arg, "{baselines}", collected_baselines(need(collect_id), language.empty() ? "all" : language));
    if (arg.find("{id_csv}") != std::string::npos) {
      const auto it = id_task.find(language);
      if (it == id_task.end()) throw InputError(s.file + ": {id_csv} needs [id] and a per-language figure");
      arg = replace_all(arg, "{id_csv}", need(it->second) + "/id.csv");
    }
    arg = replace_all(arg, "{language}", language);
    for (const auto& a : s.attention)
      if (arg.find("{attention:" + a.name + "}") != std::string::npos)
        arg = replace_all(arg, "{attention:" + a.name + "}", need("extract/attention." + a.name));
    for (const auto& m : s.models)
      if (arg.find("{model:" + m.name + "}") != std::string::npos)
        arg = replace_all(arg, "{model:" + m.name + "}", m.path);
    if (arg.find('{') != std::string::npos && arg.find('}') != std::string::npos && arg.find("{threads}") == std::string::npos) {
      const auto a = arg.find('{'), e = arg.find('}', a);
      if (e != std::string::npos)
        throw InputError(s.file + ": '" + arg + "': unknown placeholder " + arg.substr(a, e - a + 1) +
                         " ({probe_summary} {baselines} {id_csv} {language} {attention:NAME} {model:NAME})");
    }
    return arg;
  }
};

std::string figure_file(const FigureSpec& f, const std::string& language) {
  return f.name + (f.per_language ? "_" + language : "");
}

// The final step of the trained model's training: the last row of its train_log.csv.
int64_t final_step_of(const std::string& model_dir) {
  const auto path = fs::path(model_dir) / "train_log.csv";
  if (!fs::exists(path)) return -1;
  std::ifstream in(path);
  std::string line, last;
  std::getline(in, line);  // header
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  try {
    return last.empty() ? -1 : std::stoll(last.substr(0, last.find(',')));
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace

void expand_late_stages(const Study& s, Plan& p, Builder& b) {
  Substituter sub{s, b, "", {}};
  // collect: every probe slice, joined and checked (each cell exactly once), summaries recomputed over seeds.
  std::vector<std::string> probe_tasks, probe_stages, probe_names;
  for (const auto& st : p.stages)
    if (st.kind == "probe") {
      probe_stages.push_back(st.name);
      for (const auto& t : st.tasks) probe_tasks.push_back(t.id);
    }
  for (const auto& pr : s.probes) probe_names.push_back(pr.name);
  b.stage("collect", "collect", probe_stages);
  if (!probe_tasks.empty()) {
    json settings = {{"probes", probe_names}};
    std::vector<std::string> summary_args;  // --summary PROBE=NAME for the probes with a summary of their own
    for (const auto& pr : s.probes)
      if (!pr.summary.empty()) {
        settings["summaries"][pr.name] = pr.summary;  // only when some probe has one: older plans keep their hashes
        summary_args.insert(summary_args.end(), {"--summary", pr.name + "=" + pr.summary});
      }
    sub.collect_id = b.add("collect", "collect/probes", settings, {}, probe_tasks, "collected",
                           [&](const std::string& out) {
                             std::vector<std::string> a = {"study", "collect", p.dir, "--out", out};
                             a.insert(a.end(), summary_args.begin(), summary_args.end());
                             return a;
                           })
                         .id;
  }

  b.stage("id", "id", {"merge"});
  if (s.id.enabled)
    for (const auto& c : s.corpora) {
      std::vector<std::string> stores;
      for (const auto& m : s.models)
        if (wants(s.id.models, m.name)) stores.push_back("merge/" + m.name + "." + c.language);
      const json settings = {{"estimators", s.id.estimators}, {"layers", s.id.layers}, {"points", s.id.points},
                             {"normalize", s.id.normalize},   {"max_points", s.id.max_points},
                             {"ci_reps", s.id.ci_reps},       {"seed", s.id.seed}};
      sub.id_task[c.language] = b.add("id", "id/" + c.language, settings, {}, stores, "id", [&](const std::string& out) {
        std::vector<std::string> a = {"id"};
        for (const auto& st : stores) a.insert(a.end(), {"--store", b.task(st).output});
        a.insert(a.end(), {"--layers", s.id.layers, "--estimators", join(s.id.estimators), "--points", s.id.points,
                           "--normalize", s.id.normalize, "--max-points", std::to_string(s.id.max_points), "--ci-reps",
                           std::to_string(s.id.ci_reps), "--seed", std::to_string(s.id.seed), "--threads", "{threads}",
                           "--out", out});
        return a;
      }, 0).id;
    }

  b.stage("attention", "attention", {"extract"});
  for (const auto& a : s.attention) {
    if (!a.stats) continue;
    const std::string store = "extract/attention." + a.name;
    b.add("attention", "attention/" + a.name, {{"layers", a.layers}}, {}, {store}, "stats", [&](const std::string& out) {
      return std::vector<std::string>{"attention", "stats", "--store", b.task(store).output, "--layers", a.layers, "--out", out};
    });
  }

  b.stage("figures", "figures", {"collect", "id", "extract"});
  std::map<std::string, std::string> figure_task;  // file name (no extension) → task id
  for (const auto& f : s.figures) {
    std::vector<std::string> languages;
    if (f.per_language) for (const auto& c : s.corpora) languages.push_back(c.language);
    else languages.push_back("");
    for (const auto& lang : languages) {
      std::vector<std::string> deps, args;
      for (const auto& a : f.args) args.push_back(sub(a, lang, deps));
      const std::string file = figure_file(f, lang);
      figure_task[file] = b.add("figures", "figures/" + file, {{"kind", f.kind}, {"args", f.args}, {"language", lang}}, {},
                                deps, "figure", [&](const std::string& out) {
                                  std::vector<std::string> a = {"plot", f.kind};
                                  a.insert(a.end(), args.begin(), args.end());
                                  a.insert(a.end(), {"--out", out + "/" + file});
                                  return a;
                                }).id;
    }
  }

  b.stage("report", "report", {"collect", "id", "figures"});
  if (!s.report.enabled) return;
  const auto& r = s.report;
  int64_t final_step = r.final_step;
  for (const auto& m : s.models)
    if (m.name == r.trained && final_step < 0) final_step = final_step_of(m.path);
  std::vector<std::string> report_tasks;
  for (const auto& c : s.corpora) {
    std::vector<std::string> deps, a = {"report"};
    if (!sub.collect_id.empty()) {
      // The baselines of one probe (report.baselines_probe, default the first that probes this language).
      std::string probe = r.baselines_probe;
      for (const auto& pr : s.probes)
        if (probe.empty() && wants(pr.languages, c.language)) probe = pr.name;
      a.insert(a.end(), {"--probe-summary", sub("{probe_summary}", c.language, deps), "--baselines",
                         b.task(sub.collect_id).output + "/probe/" + probe + "/" + c.language + "/baselines.csv"});
      bool headline_here = false;  // the headline's probes may skip a language
      for (const auto& pr : s.probes) headline_here = headline_here || (pr.summary == r.headline && wants(pr.languages, c.language));
      if (!r.headline.empty() && headline_here)
        a.insert(a.end(), {"--headline-summary",
                           b.task(sub.collect_id).output + "/" + r.headline + "/" + c.language + "/summary.csv"});
    }
    if (sub.id_task.count(c.language)) a.insert(a.end(), {"--id", sub("{id_csv}", c.language, deps)});
    a.insert(a.end(), {"--language", c.language, "--trained", r.trained});
    for (const auto& m : r.random) a.insert(a.end(), {"--random", m});
    if (r.checkpoints)
      for (const auto& m : s.models)
        if (m.is_checkpoint) a.insert(a.end(), {"--checkpoint", m.name + ":" + std::to_string(m.checkpoint_step)});
    if (final_step >= 0) a.insert(a.end(), {"--final-step", std::to_string(final_step)});
    a.insert(a.end(), {"--title", c.language});
    for (const auto& line : r.setup) a.insert(a.end(), {"--setup", replace_all(line, "{language}", c.language)});
    for (const auto& fig : r.figures) {
      const auto eq = fig.find('=');
      const std::string name = fig.substr(0, eq);
      for (const auto& f : s.figures)
        if (f.name == name) {
          const std::string file = figure_file(f, c.language);
          deps.push_back(figure_task.at(file));
          a.insert(a.end(), {"--figure", "figures/" + file + ".png=" + replace_all(fig.substr(eq + 1), "{language}", c.language)});
        }
    }
    report_tasks.push_back(b.add("report", "report/" + c.language, {{"args", a}}, {}, deps, "report.md",
                                 [&](const std::string& out) {
                                   auto argv = a;
                                   argv.insert(argv.end(), {"--out", out});
                                   return argv;
                                 }).id);
  }
  // publish: DIR/results gets the collected CSVs, ID tables, figures and reports, and one report.md of all
  // languages. Its hash includes DIR: publishing into one study's directory is never another study's work.
  std::vector<std::string> deps = report_tasks;
  for (const auto& [file, id] : figure_task) deps.push_back(id);
  for (const auto& [lang, id] : sub.id_task) deps.push_back(id);
  if (!sub.collect_id.empty()) deps.push_back(sub.collect_id);
  b.stage("publish", "report", {"report", "figures", "id", "collect"});
  b.add("publish", "publish/results", {{"dir", p.dir}, {"title", r.title}, {"preamble", r.preamble}, {"shared", r.shared_figures}},
        {}, deps, "published", [&](const std::string& out) {
          std::vector<std::string> a = {"study", "publish", p.dir, "--out", out, "--title", r.title};
          for (const auto& l : r.preamble) a.insert(a.end(), {"--preamble", l});
          for (const auto& f : r.shared_figures) a.insert(a.end(), {"--shared-figure", f});
          return a;
        });
}

}  // namespace ps::study::detail
