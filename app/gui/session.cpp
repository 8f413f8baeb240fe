#include "app/gui/session.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "data/corpus/load.h"
#include "data/store/reader.h"
#include "models/tokenizer/tokenizer.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "probes/ast_probe.h"
#include "probes/show.h"

namespace ps::gui {

namespace fs = std::filesystem;

Session::Session() = default;
Session::~Session() = default;

void Session::open_store(const std::string& path) {
  auto reader = std::make_unique<store::StoreReader>(path);  // throws InputError naming the file
  if (reader->num_samples() == 0) throw InputError(path + ": the store holds no committed snippets");
  store_ = std::move(reader);
}

std::string Session::store_label() const {
  if (!store_) return "";
  return store_->model_label();  // the rule results rows were written with
}

std::string Session::store_language() const {
  if (!store_) return "";
  return store_->language();
}

std::vector<int> Session::layers() const { return store_ ? store_->layers(store::Rows::words) : std::vector<int>{}; }

std::string Session::add_results(const std::string& csv_path) {
  auto t = plot::read_csv_file(csv_path);
  // Reopening a file (or a rerun writing it again) replaces its rows instead of doubling them.
  for (auto* v : {&probe_tables_, &id_tables_})
    v->erase(std::remove_if(v->begin(), v->end(), [&](const plot::CsvTable& o) { return o.source == t.source; }), v->end());
  const auto has = [&](const char* c) { return std::find(t.header.begin(), t.header.end(), c) != t.header.end(); };
  if (has("f1_macro") && has("layer") && has("k")) {
    probe_results_[t.source] = probes::read_results(csv_path);  // the sweep's own reader checks every row
    probe_tables_.push_back(std::move(t));
    return "probe";
  }
  if (has("estimator") && has("id") && has("layer")) {
    id_tables_.push_back(std::move(t));
    return "id";
  }
  throw InputError(csv_path + ": not an AST-Probe results.csv (f1_macro, layer, k) nor an id.csv (layer, estimator, id)");
}

std::vector<ProbeRow> Session::probe_rows() const {
  std::vector<ProbeRow> out;
  const std::string label = store_label();
  for (const auto& t : probe_tables_) {
    const auto it = probe_results_.find(t.source);
    if (it == probe_results_.end()) continue;
    for (const auto& r : it->second) {
      if (r.control || r.probe.empty() || (!label.empty() && r.model != label)) continue;
      const double f1 = r.value("f1_macro");
      out.push_back({r.model, r.language, r.probe, r.layer, r.k, r.seed, std::isfinite(f1) ? f1 : 0});
    }
  }
  return out;
}

std::vector<int> Session::probe_ks() const {
  std::set<int> ks;
  for (const auto& r : probe_rows()) ks.insert(r.k);
  return {ks.begin(), ks.end()};
}

std::optional<ProbeRow> Session::probe_row(int layer, int k) const {
  std::optional<ProbeRow> best;
  for (const auto& r : probe_rows()) {
    if (r.layer != layer || (k > 0 && r.k != k)) continue;
    if (!best || r.k > best->k || (r.k == best->k && r.seed < best->seed)) best = r;
  }
  return best;
}

const probes::SavedAstProbe& Session::load_probe(const std::string& path) {
  auto& slot = probes_[path];
  if (!slot) slot = std::make_shared<probes::SavedAstProbe>(probes::load_ast_probe(path));
  return *slot;
}

std::optional<std::string> Session::snippet_code(int64_t snippet) const {
  if (!store_) return std::nullopt;
  const auto it = store_->manifest().find("corpus_path");
  if (it == store_->manifest().end() || !file_exists(it->second)) return std::nullopt;
  try {
    return corpus::find(it->second, store_->id(snippet)).code;
  } catch (const InputError&) {
    return std::nullopt;  // the corpus changed since extraction: no text, the rest still works
  }
}

plot::CsvTable merge_tables(const std::vector<plot::CsvTable>& tables) {
  plot::CsvTable out;
  if (tables.empty()) return out;
  out.source = tables.front().source;
  for (const auto& t : tables)
    for (const auto& h : t.header)
      if (std::find(out.header.begin(), out.header.end(), h) == out.header.end()) out.header.push_back(h);
  for (const auto& t : tables) {
    std::vector<int> map;
    for (const auto& h : out.header) {
      const auto it = std::find(t.header.begin(), t.header.end(), h);
      map.push_back(it == t.header.end() ? -1 : int(it - t.header.begin()));
    }
    for (size_t i = 0; i < t.rows.size(); ++i) {
      std::vector<std::string> row;
      for (int c : map) row.push_back(c < 0 ? "" : t.rows[i][size_t(c)]);
      out.rows.push_back(std::move(row));
      out.line.push_back(i < t.line.size() ? t.line[i] : 0);
    }
  }
  return out;
}

}  // namespace ps::gui
