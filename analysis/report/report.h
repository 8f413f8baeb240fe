#pragma once
// A short Markdown report of a probing study from its results files: AST-Probe F1 by layer and k for a
// trained model and its baselines (layer 0, random weights), intrinsic dimension by layer, and how both
// change over training checkpoints. The numbers come only from the CSVs the probe and id commands wrote,
// so the report can be regenerated (and checked) without rerunning anything.
#include <cstdint>
#include <string>
#include <vector>

#include "analysis/plot/table.h"

namespace ps::report {

struct Checkpoint {
  std::string label;  // the model label of its store (extract --model-label)
  int64_t step = 0;
};
struct FigureRef {
  std::string path;     // relative to the report (e.g. figures/f1_by_layer.png)
  std::string caption;
};

struct StudyInputs {
  std::string title = "Probescope study";
  plot::CsvTable probe_summary;  // `probe ast` summary.csv: model,layer,k,task,f1_macro_mean,f1_macro_std,...
  // Optional: fits of the trained model's best layer, its layer 0 and the random baselines at another (larger)
  // budget than the layer and k curves. When given, the headline comparison (the findings' first line, "above
  // every baseline", "random ≈ embeddings") reads it; the curves, checkpoints and ID read probe_summary.
  plot::CsvTable headline;
  plot::CsvTable id;             // `id` id.csv: model,layer,estimator,id,lo,hi,...
  plot::CsvTable baselines;      // `probe ast` baselines.csv: model,language,baseline,layer,f1_macro_mean,...
  std::string trained;           // label of the trained model
  std::vector<std::string> random_baselines;  // labels of random-weight stores
  std::vector<Checkpoint> checkpoints;        // earlier checkpoints of the trained model (the final one is added)
  int64_t final_step = 0;                     // step of `trained` in the checkpoint table (0: not shown)
  std::vector<FigureRef> figures;
  std::vector<std::string> setup_lines;       // free text under "Setup" (corpus, commands, timings)
};

// Best (layer, k) of the real task for one model, chosen on mean validation macro F1 when the summary
// has valid_f1_macro_mean (test F1 is then reported at that choice), else on test F1 (older summaries);
// found = false when absent.
struct Best {
  bool found = false;
  int layer = 0;
  int64_t k = 0;
  double f1 = 0, f1_std = 0;  // test
  double valid = 0;           // validation F1 at the choice (NaN when not chosen on validation)
  bool on_validation = false;
};
Best best_f1(const plot::CsvTable& summary, const std::string& model);
// Mean F1 of (model, layer, k); NaN when absent.
double f1_at(const plot::CsvTable& summary, const std::string& model, int layer, int64_t k);

// The comparisons the study is run for, as numbers and a verdict each.
struct Findings {
  Best trained, random;               // random: the best over all random baselines
  double trained_layer0 = 0;          // F1 of the trained model's layer 0 at the best k
  bool above_layer0 = false, above_random = false;
  std::vector<std::string> lines;     // one sentence per finding
};
Findings findings(const StudyInputs& in);

// One of the AST-Probe paper's qualitative findings (Hernandez Lopez et al. 2022), tested on this study's
// numbers: verdict is "holds", "does not hold" or "not measured", evidence the numbers behind it.
struct Claim {
  std::string finding, verdict, evidence;
};
// Trained best layer clearly above every baseline; random weights ≈ embeddings; a peak in the middle layers;
// an interior optimum of F1 over k at the best layer; a lower intrinsic dimension after pre-training.
std::vector<Claim> paper_claims(const StudyInputs& in);

// The same study restricted to one language's rows of the probe summary and the baselines (tables without a
// language column are kept whole), so a study over several languages reports each on its own.
StudyInputs for_language(const StudyInputs& in, const std::string& language);

// The whole report. InputError (naming the CSV) when a needed column is missing.
std::string study_markdown(const StudyInputs& in);

}  // namespace ps::report
