#pragma once
// What the window has open: the model (one shared Engine), the store, and results files (probe sweeps,
// intrinsic dimension). Plain C++ over the library calls, no widgets and no torch in this header, so the
// panels and the tests can use it directly. Every open_* throws the library's typed errors unchanged.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analysis/live/live.h"
#include "analysis/plot/table.h"
#include "probes/results.h"

namespace ps::models {
class Engine;
}
namespace ps::tok {
class Tokenizer;
}
namespace ps::store {
class StoreReader;
}
namespace ps::probes {
struct SavedAstProbe;
}

namespace ps::gui {

struct ModelInfo {
  std::string dir, model_type;
  int64_t layers = 0, heads = 0, d_model = 0;
  bool causal = true;
};

// One fitted AST-Probe from a results.csv row (task real).
struct ProbeRow {
  std::string model, language, probe_path;
  int layer = 0, k = 0;
  uint64_t seed = 0;
  double f1 = 0;  // f1_macro on the test split
};

class Session {
 public:
  Session();
  ~Session();

  // Loads config.json + weights into the shared Engine and tokenizer.json (engine_tasks.cpp: the one TU
  // with LibTorch). threads 0 = all hardware threads.
  void open_model(const std::string& dir, int threads = 0);
  // The same in two halves, so the slow half runs on a worker thread: load_model touches no session state,
  // adopt_model (GUI thread) swaps the loaded model in.
  static live::LiveModel load_model(const std::string& dir, int threads = 0);
  void adopt_model(live::LiveModel model);
  // The open model as the scratchpad's analysis takes it (null when none); shares the Engine above.
  std::shared_ptr<const live::LiveModel> live_model() const { return live_; }
  void open_store(const std::string& path);
  // A probe results.csv (column f1_macro) or an id.csv (columns estimator, id); returns "probe" or "id".
  std::string add_results(const std::string& csv_path);

  bool has_model() const { return engine_ != nullptr; }
  bool has_store() const { return store_ != nullptr; }
  const ModelInfo& model() const { return model_; }
  std::shared_ptr<const models::Engine> engine() const { return engine_; }
  const tok::Tokenizer* tokenizer() const { return tokenizer_.get(); }
  const store::StoreReader* store() const { return store_.get(); }
  std::string store_label() const;  // the store's model_label (results rows match on it)
  std::string store_language() const;

  // Word layers the store holds; attention layers; results tables as loaded.
  std::vector<int> layers() const;
  const std::vector<plot::CsvTable>& probe_tables() const { return probe_tables_; }
  const std::vector<plot::CsvTable>& id_tables() const { return id_tables_; }

  // AST-Probe rows for the store's model (task real); ks available at a layer.
  std::vector<ProbeRow> probe_rows() const;
  std::vector<int> probe_ks() const;
  // The probe at (layer, k) (k <= 0: the largest k; lowest seed), loaded once and cached; nullopt when
  // no results row matches.
  std::optional<ProbeRow> probe_row(int layer, int k) const;
  const probes::SavedAstProbe& load_probe(const std::string& path);

  // The snippet's source text from the corpus recorded in the store (corpus_path), or nullopt.
  std::optional<std::string> snippet_code(int64_t snippet) const;

 private:
  ModelInfo model_;
  std::shared_ptr<const live::LiveModel> live_;
  std::shared_ptr<const models::Engine> engine_;
  std::shared_ptr<const tok::Tokenizer> tokenizer_;
  std::unique_ptr<store::StoreReader> store_;
  std::vector<plot::CsvTable> probe_tables_, id_tables_;                 // for the curves
  std::map<std::string, std::vector<probes::ResultRow>> probe_results_;  // per probe table's source
  std::map<std::string, std::shared_ptr<probes::SavedAstProbe>> probes_;
};

// Rows of several results tables under one header (the union of columns; missing cells empty), so
// curves from several sweeps (models, baselines) share one plot.
plot::CsvTable merge_tables(const std::vector<plot::CsvTable>& tables);

}  // namespace ps::gui
