#include "app/study/collect.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "app/study/task_state.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "probes/results.h"
#include "probes/sweep.h"

namespace ps::study {

namespace fs = std::filesystem;

namespace {

// "probe.<name>/<model>.<language>.t<i>" → language.
std::string task_language(const Task& t) {
  const auto slash = t.id.find('/');
  const std::string rest = t.id.substr(slash + 1);
  const auto last = rest.rfind(".t");
  const std::string ml = rest.substr(0, last);
  return ml.substr(ml.rfind('.') + 1);
}

}  // namespace

size_t collect(const Plan& plan, const std::string& out, const std::map<std::string, std::string>& summary_of) {
  // groups per language: one group per probe stage (its slices)
  std::map<std::string, std::vector<std::vector<std::string>>> by_language;
  std::map<std::string, std::map<std::string, std::vector<std::vector<std::string>>>> by_summary;  // name → language → groups
  std::vector<std::vector<std::string>> all;
  for (const auto& st : plan.stages) {
    if (st.kind != "probe") continue;
    std::map<std::string, std::vector<std::string>> per_lang;
    std::vector<std::string> every;
    for (const auto& t : st.tasks) {
      if (!task_done(t)) throw InputError("collect: probe task " + t.id + " has not finished (" + t.log + ")");
      const std::string file = t.output + "/results.json";
      if (!file_exists(file)) throw InputError("collect: " + t.id + ": missing " + file);
      per_lang[task_language(t)].push_back(file);
      every.push_back(file);
    }
    const auto named = summary_of.find(st.name.substr(6));
    for (auto& [lang, files] : per_lang) {
      if (named != summary_of.end()) by_summary[named->second][lang].push_back(files);
      else by_language[lang].push_back(files);
      // Each probe alone too: the report reads one probe's baselines (as script/quickstart read one sweep's).
      ps::probes::join_sweep_results({files}, (fs::path(out) / "probe" / st.name.substr(6) / lang).string());
    }
    if (!every.empty() && named == summary_of.end()) all.push_back(every);
  }
  for (const auto& [name, langs] : by_summary)
    for (const auto& [lang, groups] : langs) ps::probes::join_sweep_results(groups, (fs::path(out) / name / lang).string());
  if (all.empty())
    throw InputError(by_summary.empty() ? "collect: the plan has no probe tasks"
                                        : "collect: every probe has a summary of its own; the study's summary has none");
  fs::create_directories(out);
  ps::probes::join_sweep_results(all, (fs::path(out) / "all").string());
  for (const auto& [lang, groups] : by_language) ps::probes::join_sweep_results(groups, (fs::path(out) / lang).string());
  // probe_summary.csv per language: the summary's rows in the study's model order (the order of its extract
  // tasks), so figures draw the models in the order the study names them; one file of every language too.
  std::vector<std::string> model_order;
  for (const auto& st : plan.stages)
    if (st.kind == "extract")
      for (const auto& t : st.tasks) {
        const std::string rest = t.id.substr(t.id.find('/') + 1);
        const std::string model = rest.substr(0, rest.rfind('.', rest.rfind('.') - 1));
        if (rest.rfind("attention.", 0) != 0 && std::find(model_order.begin(), model_order.end(), model) == model_order.end())
          model_order.push_back(model);
      }
  std::string combined;
  for (const auto& [lang, groups] : by_language) {
    std::istringstream in(read_file((fs::path(out) / lang / "summary.csv").string()));
    std::string header, line;
    std::getline(in, header);
    std::vector<std::string> rows;
    while (std::getline(in, line)) rows.push_back(line);
    auto rank = [&](const std::string& row) {
      const std::string model = row.substr(0, row.find(','));
      const auto it = std::find(model_order.begin(), model_order.end(), model);
      return it - model_order.begin();
    };
    std::stable_sort(rows.begin(), rows.end(), [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
    std::string text = header + "\n";
    for (const auto& r : rows) text += r + "\n";
    write_file_atomic((fs::path(out) / lang / "probe_summary.csv").string(), text);
    combined += combined.empty() ? text : text.substr(header.size() + 1);
    if (!fs::exists(fs::path(out) / lang / "baselines.csv")) write_file_atomic((fs::path(out) / lang / "baselines.csv").string(), "");
  }
  write_file_atomic((fs::path(out) / "probe_summary.csv").string(), combined);
  return ps::probes::read_results((fs::path(out) / "all" / "results.json").string()).size();
}

void publish(const Plan& plan, const PublishOptions& o, const std::string& marker) {
  const fs::path res = plan.results_dir;
  fs::create_directories(res / "figures");
  std::vector<std::string> written;
  auto copy = [&](const fs::path& from, const fs::path& to) {
    fs::create_directories(to.parent_path());
    fs::copy_file(from, to, fs::copy_options::overwrite_existing);
    written.push_back(to.string());
  };
  std::vector<std::pair<std::string, std::string>> reports;  // language, report path
  for (const auto& st : plan.stages)
    for (const auto& t : st.tasks) {
      if (st.name == "publish") continue;
      if (st.kind != "collect" && st.kind != "id" && st.kind != "figures" && st.kind != "report") continue;
      if (!task_done(t)) throw InputError("publish: task " + t.id + " has not finished (" + t.log + ")");
      const std::string name = t.id.substr(t.id.find('/') + 1);
      if (st.kind == "collect") {
        for (const auto& e : fs::directory_iterator(t.output))
          if (e.is_directory()) {
            for (const char* f : {"probe_summary.csv", "baselines.csv", "results.csv"})
              if (fs::exists(e.path() / f)) copy(e.path() / f, res / e.path().filename() / f);
            // A probe summary of its own (collect's summary_of): OUT/<name>/<language>/, but not OUT/probe/.
            if (e.path().filename() != "probe" && !fs::exists(e.path() / "summary.csv"))
              for (const auto& lang : fs::directory_iterator(e.path()))
                if (lang.is_directory())
                  for (const char* f : {"summary.csv", "baselines.csv", "results.csv"})
                    if (fs::exists(lang.path() / f))
                      copy(lang.path() / f, res / e.path().filename() / lang.path().filename() / f);
          }
        copy(fs::path(t.output) / "probe_summary.csv", res / "probe_summary.csv");
      } else if (st.kind == "id") {
        copy(fs::path(t.output) / "id.csv", res / name / "id" / "id.csv");
      } else if (st.kind == "figures") {
        for (const auto& e : fs::directory_iterator(t.output))
          if (e.is_regular_file()) copy(e.path(), res / "figures" / e.path().filename());
      } else {
        copy(t.output, res / name / "report.md");
        reports.push_back({name, t.output});
      }
    }
  std::ostringstream md;
  md << "# " << o.title << "\n\n";
  for (const auto& l : o.preamble) md << l << "\n";
  if (!o.preamble.empty()) md << "\n";
  for (const auto& [lang, path] : reports) {
    // Each language's report one level down: "# x" → "## x", "## X…" → "### X…" (as script/quickstart did).
    std::istringstream in(read_file(path));
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("# ", 0) == 0) line = "#" + line;
      if (line.size() > 3 && line.rfind("## ", 0) == 0 && std::isupper(static_cast<unsigned char>(line[3]))) line = "#" + line;
      md << line << "\n";
    }
    md << "\n";
  }
  if (!o.shared_figures.empty()) {
    md << "## Shared figures\n\n";
    for (size_t i = 0; i < o.shared_figures.size(); ++i) {
      const auto& f = o.shared_figures[i];
      const auto eq = f.find('=');
      md << "![" << f.substr(eq + 1) << "](figures/" << f.substr(0, eq) << ".png)\n";
      if (i + 1 < o.shared_figures.size()) md << "\n";
    }
  }
  write_file_atomic((res / "report.md").string(), md.str());
  written.push_back((res / "report.md").string());
  std::string list;
  for (const auto& w : written) list += w + "\n";
  fs::create_directories(fs::path(marker).parent_path());
  write_file_atomic(marker, list);
}

}  // namespace ps::study
