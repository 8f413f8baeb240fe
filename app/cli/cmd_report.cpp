// probescope report: a Markdown study report from the probe and id commands' CSVs (what quickstart writes).
#include <cstdio>
#include <filesystem>
#include <memory>

#include "analysis/report/report.h"
#include "app/cli/commands.h"
#include "models/util/spec.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::cli {

namespace {

struct ReportArgs {
  std::string probe_summary, headline_summary, id, out, language;
  std::vector<std::string> checkpoints, figures, baselines;
  ps::report::StudyInputs in;
};

void run_report(ReportArgs& a) {
  namespace rp = ps::report;
  if (!a.probe_summary.empty()) a.in.probe_summary = ps::plot::read_csv_file(a.probe_summary);
  if (!a.headline_summary.empty()) a.in.headline = ps::plot::read_csv_file(a.headline_summary);
  if (!a.id.empty()) a.in.id = ps::plot::read_csv_file(a.id);
  for (const auto& b : a.baselines) {  // several sweeps' baselines.csv: one table, headers must agree
    const ps::plot::CsvTable t = ps::plot::read_csv_file(b);
    if (a.in.baselines.header.empty()) {
      a.in.baselines = t;
    } else if (t.header != a.in.baselines.header) {
      throw InputError(b + ": columns differ from " + a.in.baselines.source + " (not a probe ast baselines.csv?)");
    } else {
      a.in.baselines.rows.insert(a.in.baselines.rows.end(), t.rows.begin(), t.rows.end());
      a.in.baselines.line.insert(a.in.baselines.line.end(), t.line.begin(), t.line.end());
    }
  }
  for (const auto& c : a.checkpoints) {
    const auto colon = c.rfind(':');
    int64_t step = 0;
    if (colon == std::string::npos || !ps::spec::try_int(c.substr(colon + 1), step))
      throw InputError("--checkpoint: expected LABEL:STEP, got '" + c + "'");
    a.in.checkpoints.push_back({c.substr(0, colon), step});
  }
  for (const auto& f : a.figures) {
    const auto eq = f.find('=');
    if (eq == std::string::npos) throw InputError("--figure: expected PATH=CAPTION, got '" + f + "'");
    a.in.figures.push_back({f.substr(0, eq), f.substr(eq + 1)});
  }
  if (!a.language.empty()) a.in = rp::for_language(a.in, a.language);
  const auto found = rp::findings(a.in);
  const std::string md = rp::study_markdown(a.in);
  const auto dir = std::filesystem::path(a.out).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir);
  ps::write_file_atomic(a.out, md);
  for (const auto& l : found.lines) std::printf("%s\n", l.c_str());
  for (const auto& c : rp::paper_claims(a.in))
    std::printf("paper finding: %s: %s (%s)\n", c.finding.c_str(), c.verdict.c_str(), c.evidence.c_str());
  std::printf("report: %s\n", a.out.c_str());
}

}  // namespace

void add_report_command(CLI::App& app) {
  auto a = std::make_shared<ReportArgs>();
  auto* cmd = app.add_subcommand(
      "report", "Markdown report of a probing study from `probe ast` summary.csv and `id` id.csv: F1 by layer and k "
                "against baselines, intrinsic dimension by layer, changes over training checkpoints, figures");
  cmd->add_option("--probe-summary", a->probe_summary, "summary.csv written by `probescope probe ast`");
  cmd->add_option("--headline-summary", a->headline_summary,
                  "a second summary.csv (e.g. fits at the paper's probe budget at the best layer, layer 0 and the "
                  "random baselines' best): the trained-vs-baselines comparison reads it instead of --probe-summary");
  cmd->add_option("--id", a->id, "id.csv written by `probescope id`");
  cmd->add_option("--baselines", a->baselines,
                  "baselines.csv written by `probescope probe ast` (trivial trees and the alignment cap on the "
                  "store's gold trees; repeatable)");
  cmd->add_option("--trained", a->in.trained, "model label of the trained model (extract --model-label)")->required();
  cmd->add_option("--random", a->in.random_baselines, "model label of a random-weights baseline (repeatable)");
  cmd->add_option("--checkpoint", a->checkpoints, "LABEL:STEP of an earlier checkpoint (repeatable)");
  cmd->add_option("--final-step", a->in.final_step, "training step of the trained model, for the checkpoint table");
  cmd->add_option("--figure", a->figures, "PATH=CAPTION of a figure, PATH relative to the report (repeatable)");
  cmd->add_option("--setup", a->in.setup_lines, "a line for the Setup section (repeatable)");
  cmd->add_option("--title", a->in.title, "report title")->capture_default_str();
  cmd->add_option("--language", a->language,
                  "report only this language's rows of the probe summary and baselines (a multi-language study "
                  "writes one report per language)");
  cmd->add_option("--out", a->out, "the Markdown file to write")->required();
  cmd->callback(guarded("report", [a] { run_report(*a); }));
}

static const CommandRegistration registration{75, add_report_command};

}  // namespace ps::cli
