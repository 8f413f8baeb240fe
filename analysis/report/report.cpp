#include "analysis/report/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "models/util/error.h"

namespace ps::report {

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

double number(const plot::CsvTable& t, size_t row, int col) {
  double v = kNaN;
  if (!plot::parse_number(t.rows[row][col], v)) {
    if (t.rows[row][col].empty()) return kNaN;
    throw InputError(where(t.source, "line " + std::to_string(t.line[row]) + ": column '" + t.header[col] +
                                         "' is not a number: '" + t.rows[row][col] + "'"));
  }
  return v;
}

std::string fmt(double v, int digits = 3) {
  if (!std::isfinite(v)) return "–";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// One row of a probe summary (real task only).
struct F1Row {
  std::string model;
  int layer;
  int64_t k;
  double f1, std;
  double valid;  // mean validation F1; NaN when the summary has none
  int n_seeds;   // 0 when the summary has no n_seeds column
};
std::vector<F1Row> f1_rows(const plot::CsvTable& s) {
  if (s.header.empty()) return {};
  const int model = s.column("model"), layer = s.column("layer"), k = s.column("k"), task = s.column("task");
  const int f1 = s.column("f1_macro_mean"), sd = s.column("f1_macro_std");
  const bool has_valid = std::find(s.header.begin(), s.header.end(), "valid_f1_macro_mean") != s.header.end();
  const int valid = has_valid ? s.column("valid_f1_macro_mean") : -1;
  const bool has_n = std::find(s.header.begin(), s.header.end(), "n_seeds") != s.header.end();
  const int n_seeds = has_n ? s.column("n_seeds") : -1;
  std::vector<F1Row> out;
  for (size_t r = 0; r < s.rows.size(); ++r) {
    if (s.rows[r][task] != "real") continue;
    out.push_back({s.rows[r][model], (int)number(s, r, layer), (int64_t)number(s, r, k), number(s, r, f1),
                   number(s, r, sd), has_valid ? number(s, r, valid) : kNaN, has_n ? (int)number(s, r, n_seeds) : 0});
  }
  return out;
}

struct BaselineRow {
  std::string model, name;
  int layer;
  double f1, std;
  int64_t identical, pairs;
};
std::vector<BaselineRow> baseline_rows(const plot::CsvTable& t) {
  if (t.header.empty()) return {};
  const int model = t.column("model"), name = t.column("baseline"), layer = t.column("layer");
  const int f1 = t.column("f1_macro_mean"), sd = t.column("f1_macro_std");
  const int ident = t.column("identical_pairs"), pairs = t.column("n_pairs");
  std::vector<BaselineRow> out;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const double i = number(t, r, ident), p = number(t, r, pairs);
    out.push_back({t.rows[r][model], t.rows[r][name], (int)number(t, r, layer), number(t, r, f1), number(t, r, sd),
                   std::isfinite(i) ? (int64_t)i : 0, std::isfinite(p) ? (int64_t)p : 0});
  }
  return out;
}

struct IdRow {
  std::string model, estimator;
  int layer;
  double id, lo, hi;
};
std::vector<IdRow> id_rows(const plot::CsvTable& t) {
  if (t.header.empty()) return {};
  const int model = t.column("model"), layer = t.column("layer"), est = t.column("estimator");
  const int id = t.column("id"), lo = t.column("lo"), hi = t.column("hi");
  std::vector<IdRow> out;
  for (size_t r = 0; r < t.rows.size(); ++r)
    out.push_back({t.rows[r][model], t.rows[r][est], (int)number(t, r, layer), number(t, r, id), number(t, r, lo),
                   number(t, r, hi)});
  return out;
}

// Models in the order the report discusses them: trained, random baselines, checkpoints, then any others.
std::vector<std::string> model_order(const StudyInputs& in, const std::vector<F1Row>& f1,
                                     const std::vector<IdRow>& ids) {
  std::vector<std::string> order;
  auto add = [&](const std::string& m) {
    if (!m.empty() && std::find(order.begin(), order.end(), m) == order.end()) order.push_back(m);
  };
  add(in.trained);
  for (const auto& m : in.random_baselines) add(m);
  for (const auto& c : in.checkpoints) add(c.label);
  for (const auto& r : f1) add(r.model);
  for (const auto& r : ids) add(r.model);
  return order;
}

double mean_id(const std::vector<IdRow>& ids, const std::string& model, const std::string& estimator,
               int only_layer = -1) {
  double sum = 0;
  int n = 0;
  for (const auto& r : ids)
    if (r.model == model && r.estimator == estimator && (only_layer < 0 || r.layer == only_layer) &&
        std::isfinite(r.id)) {
      sum += r.id;
      ++n;
    }
  return n ? sum / n : kNaN;
}

int last_layer(const std::vector<IdRow>& ids, const std::string& model) {
  int last = -1;
  for (const auto& r : ids)
    if (r.model == model) last = std::max(last, r.layer);
  return last;
}

// The checkpoints and (when its step is known) the trained model itself, in training order.
std::vector<Checkpoint> by_step(const StudyInputs& in) {
  std::vector<Checkpoint> steps = in.checkpoints;
  if (in.final_step > 0) steps.push_back({in.trained, in.final_step});
  std::sort(steps.begin(), steps.end(), [](const Checkpoint& a, const Checkpoint& b) { return a.step < b.step; });
  return steps;
}

// "clearly above": the gap exceeds both 0.02 F1 and twice the seeds' combined standard deviation.
bool clearly_above(double a, double a_std, double b, double b_std) {
  if (!std::isfinite(a) || !std::isfinite(b)) return false;
  const double sd = std::sqrt((std::isfinite(a_std) ? a_std * a_std : 0) + (std::isfinite(b_std) ? b_std * b_std : 0));
  return a - b > std::max(0.02, 2 * sd);
}

void f1_by_layer_table(std::ostringstream& md, const std::vector<F1Row>& f1, const std::vector<std::string>& models,
                       int64_t k) {
  std::set<int> layers;
  for (const auto& r : f1)
    if (r.k == k) layers.insert(r.layer);
  md << "| layer |";
  for (const auto& m : models) md << " " << m << " |";
  md << "\n|---|";
  for (size_t i = 0; i < models.size(); ++i) md << "---|";
  md << "\n";
  for (int layer : layers) {
    md << "| " << layer << " |";
    for (const auto& m : models) {
      const auto it = std::find_if(f1.begin(), f1.end(),
                                   [&](const F1Row& r) { return r.model == m && r.layer == layer && r.k == k; });
      md << " " << (it == f1.end() ? "–" : fmt(it->f1) + (it->std > 0 ? " ± " + fmt(it->std) : "")) << " |";
    }
    md << "\n";
  }
}

// The k of the F1-by-layer table: one every model was probed at (checkpoints are often probed at a single
// k), the trained model's best among those; the trained model's best k when no k is shared.
int64_t table_k(const std::vector<F1Row>& f1, const std::vector<std::string>& models, const std::string& trained,
                const Findings& found) {
  std::set<int64_t> shared;
  bool first = true;
  for (const auto& m : models) {
    std::set<int64_t> ks;
    for (const auto& r : f1)
      if (r.model == m) ks.insert(r.k);
    if (ks.empty()) continue;
    if (first) shared = ks;
    else {
      std::set<int64_t> both;
      for (int64_t k : ks)
        if (shared.count(k)) both.insert(k);
      shared = both;
    }
    first = false;
  }
  int64_t best_k = found.trained.found ? found.trained.k : f1.front().k;
  double best = -1;
  for (const auto& r : f1)
    if (r.model == trained && shared.count(r.k) && std::isfinite(r.f1) && r.f1 > best) best = r.f1, best_k = r.k;
  return best_k;
}

}  // namespace

namespace {

// Best (layer, k) of a model, at one layer when only_layer >= 0, chosen as best_f1 does.
Best best_where(const plot::CsvTable& summary, const std::string& model, int only_layer = -1) {
  Best b;
  const auto rows = f1_rows(summary);
  bool valid = false;  // choose on validation whenever the model has validation F1
  for (const auto& r : rows) valid = valid || (r.model == model && std::isfinite(r.valid));
  for (const auto& r : rows) {
    if (r.model != model || (only_layer >= 0 && r.layer != only_layer)) continue;
    const double key = valid ? r.valid : r.f1, best = valid ? b.valid : b.f1;
    if (std::isfinite(key) && (!b.found || key > best)) b = {true, r.layer, r.k, r.f1, r.std, valid ? r.valid : kNaN, valid};
  }
  return b;
}

}  // namespace

Best best_f1(const plot::CsvTable& summary, const std::string& model) { return best_where(summary, model); }

double f1_at(const plot::CsvTable& summary, const std::string& model, int layer, int64_t k) {
  for (const auto& r : f1_rows(summary))
    if (r.model == model && r.layer == layer && r.k == k) return r.f1;
  return kNaN;
}

namespace {
// The inputs the headline comparison reads: the headline summary where there is one.
StudyInputs headline_view(const StudyInputs& in) {
  if (in.headline.header.empty()) return in;
  StudyInputs h = in;
  h.probe_summary = in.headline;
  return h;
}
}  // namespace

Findings findings(const StudyInputs& all) {
  const StudyInputs in = headline_view(all);
  Findings f;
  f.trained = best_f1(in.probe_summary, in.trained);
  for (const auto& m : in.random_baselines) {
    const Best b = best_f1(in.probe_summary, m);
    if (b.found && (!f.random.found || b.f1 > f.random.f1)) f.random = b;
  }
  if (!f.trained.found) {
    f.lines.push_back("No AST-Probe results for the trained model '" + in.trained + "'.");
    return f;
  }
  const Best& t = f.trained;
  // Layer 0 at the best k; where the grid has no layer-0 fit at that k (a k sweep at the best layer only),
  // layer 0's own best k, named, rather than a blank that reads as "not above".
  f.trained_layer0 = f1_at(in.probe_summary, in.trained, 0, t.k);
  int64_t layer0_k = t.k;
  if (!std::isfinite(f.trained_layer0)) {
    const Best b0 = best_where(in.probe_summary, in.trained, 0);
    if (b0.found) f.trained_layer0 = b0.f1, layer0_k = b0.k;
  }
  f.above_layer0 = clearly_above(t.f1, t.f1_std, f.trained_layer0, 0);
  f.above_random = f.random.found && clearly_above(t.f1, t.f1_std, f.random.f1, f.random.f1_std);
  std::ostringstream s;
  s << "The trained model's best AST-Probe F1 is " << fmt(t.f1) << (t.f1_std > 0 ? " ± " + fmt(t.f1_std) : "")
    << " (layer " << t.layer << ", k = " << t.k << "; "
    << (t.on_validation ? "chosen on validation F1 " + fmt(t.valid) + ", test F1 at that choice"
                        : "chosen on test F1: the summary has no validation F1")
    << "); its layer 0 (embeddings) reaches " << fmt(f.trained_layer0)
    << (layer0_k == t.k ? std::string(" at the same k") : " at k = " + std::to_string(layer0_k) + " (no layer-0 fit at k = " +
                                                           std::to_string(t.k) + ")");
  if (f.random.found)
    s << ", and random weights at best " << fmt(f.random.f1) << " (layer " << f.random.layer << ", k = " << f.random.k
      << ")";
  s << ". Trained best layer vs layer 0: " << (f.above_layer0 ? "clearly above" : "NOT clearly above")
    << " (+" << fmt(t.f1 - f.trained_layer0) << ")";
  if (f.random.found)
    s << "; vs random weights: " << (f.above_random ? "clearly above" : "NOT clearly above") << " (+"
      << fmt(t.f1 - f.random.f1) << ")";
  s << ".";
  f.lines.push_back(s.str());
  // The trivial baselines on the same gold trees (probe ast's baselines.csv): what F1 means here.
  const auto base = baseline_rows(in.baselines);
  std::string trivial, cap;
  for (const auto& b : base) {
    if (b.model != in.trained) continue;
    if (b.name == "gold_through_alignment") {
      if (b.layer == t.layer) cap = fmt(b.f1);
    } else {
      trivial += (trivial.empty() ? "" : ", ") + b.name + " " + fmt(b.f1) + (b.std > 0 ? " ± " + fmt(b.std) : "");
    }
  }
  if (!trivial.empty())
    f.lines.push_back("Trivial baselines on the same gold test trees: " + trivial +
                      (cap.empty() ? "" : "; the gold tree through the alignment (the cap at layer " +
                                              std::to_string(t.layer) + ") scores " + cap) + ".");
  else
    f.lines.push_back("No trivial baselines given (pass `--baselines OUT/baselines.csv` from `probe ast`).");

  const auto ids = id_rows(in.id);
  if (!ids.empty()) {
    for (const auto& m : in.random_baselines) {
      const double a = mean_id(ids, in.trained, "twonn"), b = mean_id(ids, m, "twonn");
      if (!std::isfinite(a) || !std::isfinite(b)) continue;
      f.lines.push_back("Mean TwoNN intrinsic dimension over layers: trained " + fmt(a, 1) + " vs " + m + " " +
                        fmt(b, 1) + " (" + (a < b ? "lower after training" : "not lower after training") + ").");
    }
  }
  if (!in.checkpoints.empty()) {
    const std::vector<Checkpoint> steps = by_step(in);
    std::string f1s, idv;
    for (const auto& c : steps) {
      const Best b = best_f1(all.probe_summary, c.label);  // the checkpoints are in the main summary only
      f1s += (f1s.empty() ? "" : " → ") + ("step " + std::to_string(c.step) + ": " + (b.found ? fmt(b.f1) : "–"));
      idv += (idv.empty() ? "" : " → ") + fmt(mean_id(ids, c.label, "twonn"), 1);
    }
    f.lines.push_back("Over training, best-layer F1 " + f1s + ".");
    if (!ids.empty()) f.lines.push_back("Mean TwoNN ID over layers at the same steps: " + idv + ".");
  }
  return f;
}

namespace {

std::string with_std(double f, double sd) { return fmt(f) + (sd > 0 ? " ± " + fmt(sd) : ""); }

Claim above_every_baseline(const StudyInputs& in, const Best& t) {
  std::string vs, below;
  auto check = [&](const std::string& name, double f, double sd) {
    if (!std::isfinite(f)) return;
    vs += (vs.empty() ? "" : ", ") + name + " " + with_std(f, sd);
    if (!clearly_above(t.f1, t.f1_std, f, sd)) below += (below.empty() ? "" : ", ") + name;
  };
  const Best embeddings = best_where(in.probe_summary, in.trained, 0);
  if (embeddings.found) check("embeddings (layer 0)", embeddings.f1, embeddings.f1_std);
  for (const auto& m : in.random_baselines) {
    const Best b = best_f1(in.probe_summary, m);
    if (b.found) check(m, b.f1, b.f1_std);
  }
  for (const auto& b : baseline_rows(in.baselines))
    if (b.model == in.trained && b.name != "gold_through_alignment") check(b.name, b.f1, b.std);
  return {"the trained model's best layer is clearly above every baseline", below.empty() ? "holds" : "does not hold",
          "trained " + with_std(t.f1, t.f1_std) + " (layer " + std::to_string(t.layer) + ", k = " +
              std::to_string(t.k) + ") vs " + vs + (below.empty() ? "" : "; not clearly above: " + below)};
}

Claim random_like_embeddings(const StudyInputs& in) {
  const Best e = best_where(in.probe_summary, in.trained, 0);
  std::string ev, differ;
  for (const auto& m : in.random_baselines) {
    const Best r = best_f1(in.probe_summary, m);
    if (!r.found || !e.found) continue;
    ev += (ev.empty() ? "" : "; ") + m + " " + with_std(r.f1, r.f1_std) + " vs embeddings " + with_std(e.f1, e.f1_std);
    if (clearly_above(r.f1, r.f1_std, e.f1, e.f1_std) || clearly_above(e.f1, e.f1_std, r.f1, r.f1_std))
      differ += (differ.empty() ? "" : ", ") + m;
  }
  if (ev.empty()) return {"random weights ≈ embeddings", "not measured", "needs a random baseline and layer 0"};
  return {"random weights ≈ embeddings", differ.empty() ? "holds" : "does not hold",
          ev + (differ.empty() ? " (no gap beyond 0.02 and twice the seeds' std)" : "; clearly different: " + differ)};
}

Claim middle_peak(const StudyInputs& in) {
  // The layer curve is read at the k probed at the most layers (a study probes every layer at one k and the
  // other k only at the best layer); its best layer is chosen on validation like every other choice here.
  const std::vector<F1Row> rows = f1_rows(in.probe_summary);
  std::map<int64_t, std::set<int>> layers_at;
  for (const auto& r : rows)
    if (r.model == in.trained) layers_at[r.k].insert(r.layer);
  int64_t k = 0;
  for (const auto& [kk, ls] : layers_at)
    if (!k || ls.size() > layers_at[k].size()) k = kk;
  const std::set<int>& layers = layers_at[k];
  if (layers.size() < 3) return {"F1 peaks in the middle layers", "not measured", "fewer than 3 layers probed"};
  int best = *layers.begin();
  double best_key = -1;
  for (const auto& r : rows) {
    if (r.model != in.trained || r.k != k) continue;
    const double key = std::isfinite(r.valid) ? r.valid : r.f1;
    if (key > best_key) best_key = key, best = r.layer;
  }
  std::string curve;
  for (int l : layers) curve += (curve.empty() ? "" : ", ") + std::to_string(l) + ": " + fmt(f1_at(in.probe_summary, in.trained, l, k));
  // A peak, not noise: the chosen middle layer is clearly above both the first and the last layer.
  const auto row = [&](int l) {
    for (const auto& r : rows)
      if (r.model == in.trained && r.k == k && r.layer == l) return r;
    return F1Row{"", l, k, kNaN, kNaN, kNaN, 0};
  };
  const F1Row top = row(best), first = row(*layers.begin()), last = row(*layers.rbegin());
  const bool interior = best > *layers.begin() && best < *layers.rbegin() &&
                        clearly_above(top.f1, top.std, first.f1, first.std) &&
                        clearly_above(top.f1, top.std, last.f1, last.std);
  return {"F1 peaks in the middle layers", interior ? "holds" : "does not hold",
          "best layer " + std::to_string(best) + " of " + std::to_string(*layers.begin()) + ".." +
              std::to_string(*layers.rbegin()) + " at k = " + std::to_string(k) + "; test F1 by layer: " + curve};
}

Claim interior_k(const StudyInputs& in, const Best& t) {
  const Best at_layer = best_where(in.probe_summary, in.trained, t.layer);
  std::set<int64_t> ks;
  for (const auto& r : f1_rows(in.probe_summary))
    if (r.model == in.trained && r.layer == t.layer) ks.insert(r.k);
  if (ks.size() < 3) return {"F1 over k has an interior optimum", "not measured", "fewer than 3 k at the best layer"};
  std::string curve;
  for (int64_t k : ks) curve += (curve.empty() ? "" : ", ") + std::to_string(k) + ": " + fmt(f1_at(in.probe_summary, in.trained, t.layer, k));
  const double lo = f1_at(in.probe_summary, in.trained, t.layer, *ks.begin());
  const double hi = f1_at(in.probe_summary, in.trained, t.layer, *ks.rbegin());
  const bool interior = at_layer.k > *ks.begin() && at_layer.k < *ks.rbegin() &&
                        clearly_above(at_layer.f1, at_layer.f1_std, lo, 0) && clearly_above(at_layer.f1, at_layer.f1_std, hi, 0);
  return {"F1 over k has an interior optimum", interior ? "holds" : "does not hold",
          "at layer " + std::to_string(t.layer) + " the best k is " + std::to_string(at_layer.k) +
              " (chosen on validation); test F1 by k: " + curve};
}

Claim lower_id(const StudyInputs& in) {
  const auto ids = id_rows(in.id);
  std::string ev;
  bool all_lower = true, any = false;
  for (const auto& m : in.random_baselines) {
    const double a = mean_id(ids, in.trained, "twonn"), b = mean_id(ids, m, "twonn");
    if (!std::isfinite(a) || !std::isfinite(b)) continue;
    any = true;
    all_lower = all_lower && a < b;
    ev += (ev.empty() ? "" : "; ") + std::string("trained ") + fmt(a, 1) + " vs " + m + " " + fmt(b, 1);
  }
  if (!any) return {"intrinsic dimension is lower after pre-training", "not measured", "needs id.csv with a random baseline"};
  return {"intrinsic dimension is lower after pre-training", all_lower ? "holds" : "does not hold",
          "mean TwoNN ID over layers: " + ev};
}

}  // namespace

std::vector<Claim> paper_claims(const StudyInputs& in) {
  const Best t = best_f1(in.probe_summary, in.trained);
  if (!t.found) return {};
  const StudyInputs h = headline_view(in);
  const Best th = best_f1(h.probe_summary, in.trained);
  return {th.found ? above_every_baseline(h, th) : above_every_baseline(in, t), random_like_embeddings(h), middle_peak(in),
          interior_k(in, t), lower_id(in)};
}

StudyInputs for_language(const StudyInputs& in, const std::string& language) {
  auto keep = [&](const plot::CsvTable& t) {
    const auto it = std::find(t.header.begin(), t.header.end(), "language");
    if (it == t.header.end()) return t;
    const size_t col = size_t(it - t.header.begin());
    plot::CsvTable out = t;
    out.rows.clear();
    out.line.clear();
    for (size_t r = 0; r < t.rows.size(); ++r)
      if (t.rows[r][col] == language) out.rows.push_back(t.rows[r]), out.line.push_back(t.line[r]);
    return out;
  };
  StudyInputs out = in;
  out.probe_summary = keep(in.probe_summary);
  if (!in.headline.header.empty()) out.headline = keep(in.headline);
  out.baselines = keep(in.baselines);
  return out;
}

std::string study_markdown(const StudyInputs& in) {
  const auto f1 = f1_rows(in.probe_summary);
  const auto ids = id_rows(in.id);
  const auto models = model_order(in, f1, ids);
  const Findings found = findings(in);
  std::ostringstream md;
  md << "# " << in.title << "\n\n## Findings\n\n";
  for (const auto& l : found.lines) md << "- " << l << "\n";
  const auto claims = paper_claims(in);
  if (!claims.empty()) {
    md << "\n## The paper's findings on this model\n\n| finding | verdict | evidence |\n|---|---|---|\n";
    for (const auto& c : claims) md << "| " << c.finding << " | **" << c.verdict << "** | " << c.evidence << " |\n";
  }
  if (!in.headline.header.empty()) {
    // Every headline fit, so the comparison above can be checked row by row.
    const StudyInputs h = headline_view(in);
    const Findings hf = findings(in);
    md << "\n## Headline comparison (the headline summary: its own, larger probe budget)\n\n"
       << "| model | layer | k | seeds | test F1 | valid F1 | gap to the trained best |\n|---|---|---|---|---|---|---|\n";
    for (const auto& r : f1_rows(h.probe_summary)) {
      md << "| " << r.model << " | " << r.layer << " | " << r.k << " | " << r.n_seeds << " | " << fmt(r.f1)
         << (r.std > 0 ? " ± " + fmt(r.std) : "") << " | " << fmt(r.valid) << " | "
         << (hf.trained.found ? fmt(hf.trained.f1 - r.f1) : "–") << " |\n";
    }
  }
  if (!in.setup_lines.empty()) {
    md << "\n## Setup\n\n";
    for (const auto& l : in.setup_lines) md << "- " << l << "\n";
  }
  if (!f1.empty()) {
    const int64_t k = table_k(f1, models, in.trained, found);
    md << "\n## AST-Probe F1 by layer (test macro F1, k = " << k << ")\n\n"
       << "Layer L is `hidden_states[L]` (0 = embeddings). Mean ± std over seeds when there are several.\n\n";
    f1_by_layer_table(md, f1, models, k);
    std::set<int64_t> ks;
    for (const auto& r : f1)
      if (r.model == in.trained) ks.insert(r.k);
    if (ks.size() > 1) {
      md << "\n## F1 by k (" << in.trained << ")\n\n| layer |";
      for (int64_t kk : ks) md << " k = " << kk << " |";
      md << "\n|---|";
      for (size_t i = 0; i < ks.size(); ++i) md << "---|";
      md << "\n";
      std::set<int> layers;
      for (const auto& r : f1)
        if (r.model == in.trained) layers.insert(r.layer);
      for (int layer : layers) {
        md << "| " << layer << " |";
        for (int64_t kk : ks) md << " " << fmt(f1_at(in.probe_summary, in.trained, layer, kk)) << " |";
        md << "\n";
      }
    }
  }
  const auto base = baseline_rows(in.baselines);
  if (!base.empty()) {
    md << "\n## Baselines (test macro F1 on each store's own gold trees)\n\n"
       << "right_branching_majority: right-branching tree, train-majority labels; right_branching_gold: the same "
          "tree with gold labels; random_d_gold: random split order (mean ± std over seeds), gold labels; "
          "gold_through_alignment: the gold tree where adjacent words with identical vectors (d̂ = 0) are tied, "
          "the most any probe can reach at that layer.\n\n"
       << "| model | baseline | layer | F1 | identical adjacent pairs |\n|---|---|---|---|---|\n";
    for (const auto& b : base)
      md << "| " << b.model << " | " << b.name << " | " << (b.layer >= 0 ? std::to_string(b.layer) : "–") << " | "
         << fmt(b.f1) << (b.std > 0 ? " ± " + fmt(b.std) : "") << " | "
         << (b.name == "gold_through_alignment" ? std::to_string(b.identical) + " of " + std::to_string(b.pairs) : "–")
         << " |\n";
  }
  if (!ids.empty()) {
    std::vector<std::string> estimators;
    for (const auto& r : ids)
      if (std::find(estimators.begin(), estimators.end(), r.estimator) == estimators.end())
        estimators.push_back(r.estimator);
    md << "\n## Intrinsic dimension by layer\n\nEstimate [95% bootstrap interval] per model.\n";
    for (const auto& e : estimators) {
      md << "\n### " << e << "\n\n| layer |";
      std::vector<std::string> ms;
      for (const auto& m : models)
        if (std::any_of(ids.begin(), ids.end(), [&](const IdRow& r) { return r.model == m && r.estimator == e; }))
          ms.push_back(m);
      for (const auto& m : ms) md << " " << m << " |";
      md << "\n|---|";
      for (size_t i = 0; i < ms.size(); ++i) md << "---|";
      md << "\n";
      std::set<int> layers;
      for (const auto& r : ids)
        if (r.estimator == e) layers.insert(r.layer);
      for (int layer : layers) {
        md << "| " << layer << " |";
        for (const auto& m : ms) {
          const auto it = std::find_if(ids.begin(), ids.end(), [&](const IdRow& r) {
            return r.model == m && r.estimator == e && r.layer == layer;
          });
          if (it == ids.end()) md << " – |";
          else if (std::isfinite(it->lo)) md << " " << fmt(it->id, 1) << " [" << fmt(it->lo, 1) << ", " << fmt(it->hi, 1) << "] |";
          else md << " " << fmt(it->id, 1) << " |";
        }
        md << "\n";
      }
    }
  }
  if (!in.checkpoints.empty()) {
    const std::vector<Checkpoint> steps = by_step(in);
    md << "\n## Over training\n\nMeans are over layers; layer 0 (the embeddings) often moves differently from the "
          "rest, so see the per-layer tables above too.\n\n| step | model | best F1 (layer, k) | mean TwoNN ID | "
          "mean MLE ID | last-layer TwoNN ID | last-layer PCA-90 |\n|---|---|---|---|---|---|---|\n";
    for (const auto& c : steps) {
      const Best b = best_f1(in.probe_summary, c.label);
      const int last = last_layer(ids, c.label);
      md << "| " << c.step << " | " << c.label << " | "
         << (b.found ? fmt(b.f1) + " (" + std::to_string(b.layer) + ", " + std::to_string(b.k) + ")" : "–") << " | "
         << fmt(mean_id(ids, c.label, "twonn"), 1) << " | " << fmt(mean_id(ids, c.label, "mle"), 1) << " | "
         << (last >= 0 ? fmt(mean_id(ids, c.label, "twonn", last), 1) : "–") << " | "
         << (last >= 0 ? fmt(mean_id(ids, c.label, "pca90", last), 1) : "–") << " |\n";
    }
  }
  if (!in.figures.empty()) {
    md << "\n## Figures\n";
    for (const auto& fig : in.figures)
      md << "\n![" << fig.caption << "](" << fig.path << ")\n\n*" << fig.caption << "* (vector versions and the "
         << "numbers drawn sit next to the PNG: same name, .pdf/.svg/.csv/.json)\n";
  }
  return md.str();
}

}  // namespace ps::report
