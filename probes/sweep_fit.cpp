// One fit of a sweep: train on the layer's train split, select on valid, score test, save the probe.
// Control fits swap control labels into the shared datasets for the duration of the fit, so the
// layer's vectors are never copied.
#include <chrono>
#include <cmath>
#include <map>
#include <utility>

#include "probes/ast_probe.h"
#include "probes/control.h"
#include "probes/metrics.h"
#include "probes/sweep_internal.h"

namespace ps::probes::sweep {

namespace {

constexpr int kTrain = 0, kValid = 1, kTest = 2;

// Swaps per-sample label vectors in and out of a dataset (exception-safe: the destructor swaps back).
template <class Swap>
class Swapped {
 public:
  explicit Swapped(Swap swap) : swap_(std::move(swap)) { swap_(); }
  ~Swapped() { swap_(); }
  Swapped(const Swapped&) = delete;
  Swapped& operator=(const Swapped&) = delete;

 private:
  Swap swap_;
};

ProbeDataset labels_only(const ProbeDataset& ds) {
  ProbeDataset out;
  out.dim = ds.dim, out.n_c_labels = ds.n_c_labels, out.n_u_labels = ds.n_u_labels;
  out.samples.resize(ds.samples.size());
  for (size_t i = 0; i < ds.samples.size(); ++i) {
    const ProbeSample& s = ds.samples[i];
    out.samples[i].n_words = s.n_words, out.samples[i].d = s.d, out.samples[i].c = s.c, out.samples[i].u = s.u;
  }
  return out;
}

std::function<void(const EpochLog&)> epoch_hook(const SweepOptions& opt, const std::string& what) {
  return [&opt, what](const EpochLog& e) {
    if (opt.log && opt.log_epochs) {
      char buf[200];
      std::snprintf(buf, sizeof buf, "  %s epoch %d (%lld steps): train %.4f valid %.4f lr %g (%.1f s); valid ",
                    what.c_str(), e.epoch, static_cast<long long>(e.steps), e.train_loss, e.valid_loss, e.lr, e.seconds);
      opt.log(buf + format_terms(e.valid_terms));
    }
    if (opt.progress && opt.progress->cancelled()) throw SweepCancelled();
  };
}

// Epochs, the best epoch against the cap, and the validation loss terms at the best epoch beside their
// priors (valid_loss_<term>, prior_<term>).
template <class Fit>
void common_fields(nlohmann::json& row, const Fit& fit, const Settings& s) {
  row["epochs"] = fit.history.size();
  row["best_epoch"] = fit.best_epoch;
  row["max_epochs"] = s.epochs;
  row["converged"] = fit.converged ? 1 : 0;
  row["steps_per_epoch"] = s.steps_per_epoch;
  row["best_valid_loss"] = fit.best_valid_loss;
  for (const LossTerm& t : fit.best_terms) {
    row["valid_loss_" + t.name] = t.value;
    if (!std::isnan(t.prior)) row["prior_" + t.name] = t.prior;
  }
}

nlohmann::json fit_ast(LayerData& L, const StoreLabels& labels, const Settings& s, const FitRequest& req,
                       const SweepOptions& opt) {
  // Control: per word type, permute the non-<empty> c and u labels (same tree shapes).
  std::vector<ProbeDataset> ctrl;
  if (req.control)
    for (int k = 0; k < 3; ++k)
      ctrl.push_back(shuffle_labels_by_token_type(labels_only(L.ast[k]), L.types[k], labels.vocab.c.empty_id,
                                                  labels.vocab.u.empty_id, req.seed));
  auto swap = [&] {
    for (size_t k = 0; k < ctrl.size(); ++k)
      for (size_t i = 0; i < ctrl[k].samples.size(); ++i) {
        std::swap(L.ast[k].samples[i].c, ctrl[k].samples[i].c);
        std::swap(L.ast[k].samples[i].u, ctrl[k].samples[i].u);
      }
  };
  Swapped<decltype(swap)> guard(swap);
  AstProbeConfig cfg;
  cfg.rank = req.k, cfg.lr = s.lr, cfg.max_epochs = s.epochs, cfg.early_stop_patience = s.patience;
  cfg.batch_size = s.batch_size, cfg.seed = req.seed, cfg.threads = s.threads, cfg.steps_per_epoch = s.steps_per_epoch;
  cfg.bf16 = s.bf16;
  cfg.on_epoch = epoch_hook(opt, req.probe_path);
  const AstProbeFit fit = train_ast_probe(L.ast[kTrain], L.ast[kValid], cfg);
  const auto score = [&](int split) {
    return evaluate_predictions(predict_ast_probe(fit.model, L.ast[split], labels.vocab), L.ast[split], labels.vocab);
  };
  const AstProbeMetrics m = score(kTest);
  nlohmann::json row;
  row["valid_f1_macro"] = score(kValid).macro.f1;
  row["f1_macro"] = m.macro.f1, row["precision_macro"] = m.macro.precision, row["recall_macro"] = m.macro.recall;
  row["f1_micro"] = m.micro.f1, row["precision_micro"] = m.micro.precision, row["recall_micro"] = m.micro.recall;
  row["c_accuracy"] = m.c_accuracy, row["u_accuracy"] = m.u_accuracy;
  nlohmann::json per = nlohmann::json::object();
  for (const auto& [label, r] : m.per_label) per[label] = {{"gold", r.gold}, {"matched", r.matched}, {"recall", r.recall()}};
  row["per_label_recall"] = per;
  common_fields(row, fit, s);
  SavedAstProbe saved{fit.model, labels.vocab, L.layer, req.metadata, L.norm};
  saved.metadata["f1_macro"] = std::to_string(m.macro.f1);
  save_ast_probe(req.probe_path, saved);
  return row;
}

nlohmann::json fit_structural(LayerData& L, const StoreLabels& labels, const Settings& s, const FitRequest& req,
                              const SweepOptions& opt) {
  const bool distance = L.kind == ProbeKind::distance;
  // Depth control (Hewitt & Liang): every word type gets one depth drawn from the train depths.
  std::vector<std::vector<float>> ctrl[3];
  if (req.control) {
    if (distance) throw InputError("--control is not defined for the distance probe");
    std::vector<int32_t> ref;
    int max_depth = 0;
    for (const auto& x : L.structural[kTrain].samples)
      for (float d : x.depths) ref.push_back(static_cast<int32_t>(d)), max_depth = std::max(max_depth, static_cast<int>(d));
    const ControlTask task(ref, max_depth + 1, req.seed);
    for (int k = 0; k < 3; ++k)
      for (const auto& t : L.types[k]) {
        const std::vector<int32_t> lab = task.relabel(t);
        ctrl[k].emplace_back(lab.begin(), lab.end());
      }
  }
  auto swap = [&] {
    for (int k = 0; k < 3; ++k)
      for (size_t i = 0; i < ctrl[k].size(); ++i) std::swap(L.structural[k].samples[i].depths, ctrl[k][i]);
  };
  Swapped<decltype(swap)> guard(swap);
  StructuralConfig cfg;
  cfg.rank = req.k, cfg.lr = s.lr, cfg.max_epochs = s.epochs, cfg.early_stop_patience = s.patience;
  cfg.batch_size = s.batch_size, cfg.seed = req.seed, cfg.threads = s.threads, cfg.steps_per_epoch = s.steps_per_epoch;
  cfg.on_epoch = epoch_hook(opt, req.probe_path);
  const StructuralKind kind = distance ? StructuralKind::Distance : StructuralKind::Depth;
  const StructuralFit fit = train_structural_probe(kind, L.structural[kTrain], L.structural[kValid], cfg);
  const auto pred = predict_structural(fit.probe, L.structural[kTest]);
  const auto vpred = predict_structural(fit.probe, L.structural[kValid]);
  nlohmann::json row;
  if (distance) {
    const DistanceMetrics m = evaluate_distances(pred, L.structural[kTest]);
    row["uuas"] = m.uuas, row["spearman"] = m.spearman, row["n_lengths"] = m.n_lengths;
    row["valid_uuas"] = evaluate_distances(vpred, L.structural[kValid]).uuas;
  } else {
    const DepthMetrics m = evaluate_depths(pred, L.structural[kTest]);
    row["root_accuracy"] = m.root_accuracy, row["spearman"] = m.spearman, row["n_lengths"] = m.n_lengths;
    row["valid_spearman"] = evaluate_depths(vpred, L.structural[kValid]).spearman;
  }
  common_fields(row, fit, s);
  save_structural_probe(req.probe_path, SavedStructuralProbe{fit.probe, L.layer, req.metadata, L.norm});
  return row;
}

nlohmann::json fit_linear(LayerData& L, const StoreLabels& labels, const Settings& s, const FitRequest& req,
                          const SweepOptions& opt) {
  std::vector<int32_t> ctrl[3];
  if (req.control) {
    const ControlTask task(L.tokens[kTrain].labels, L.tokens[kTrain].n_labels, req.seed);
    for (int k = 0; k < 3; ++k) ctrl[k] = task.relabel(L.tokens[k].word_types);
  }
  auto swap = [&] {
    for (int k = 0; k < 3; ++k)
      if (req.control) std::swap(L.tokens[k].labels, ctrl[k]);
  };
  Swapped<decltype(swap)> guard(swap);
  LinearConfig cfg;
  cfg.lr = s.lr, cfg.max_epochs = s.epochs, cfg.early_stop_patience = s.patience;
  cfg.batch_size = s.batch_size, cfg.seed = req.seed, cfg.threads = s.threads, cfg.steps_per_epoch = s.steps_per_epoch;
  cfg.on_epoch = epoch_hook(opt, req.probe_path);
  const LinearFit fit = train_linear_probe(L.tokens[kTrain], L.tokens[kValid], cfg);
  const TokenDataset& test = L.tokens[kTest];
  const std::vector<int32_t> pred = predict_linear(fit.probe, test);
  nlohmann::json row;
  row["accuracy"] = accuracy(pred, test.labels);
  row["valid_accuracy"] = accuracy(predict_linear(fit.probe, L.tokens[kValid]), L.tokens[kValid].labels);
  std::map<int32_t, std::pair<int64_t, int64_t>> per;  // label → (gold, correct)
  for (size_t i = 0; i < pred.size(); ++i) {
    auto& p = per[test.labels[i]];
    ++p.first;
    p.second += pred[i] == test.labels[i];
  }
  nlohmann::json pl = nlohmann::json::object();
  for (const auto& [id, p] : per) {
    const std::string name = id < static_cast<int32_t>(labels.vocab.u.labels.size()) ? labels.vocab.u.labels[id] : std::to_string(id);
    pl[name] = {{"gold", p.first}, {"matched", p.second}, {"recall", static_cast<double>(p.second) / p.first}};
  }
  row["per_label_recall"] = pl;
  common_fields(row, fit, s);
  save_linear_probe(req.probe_path, SavedLinearProbe{fit.probe, labels.vocab.u.labels, L.layer, req.metadata, L.norm});
  return row;
}

}  // namespace

LayerData make_layer_data(ProbeKind kind, LayerSplits& splits, const StoreLabels& labels, NormalizeMode normalize) {
  LayerData L;
  L.kind = kind;
  L.layer = splits.layer;
  if (kind == ProbeKind::ast) {  // before normalizing (identical vectors stay identical anyway)
    std::vector<int> n;
    for (int64_t s : labels.snippets[kTest])
      n.push_back(static_cast<int>(labels.word_offsets[s + 1] - labels.word_offsets[s]));
    L.identical_test = identical_adjacent(splits.vectors[kTest], n, splits.dim);
  }
  std::vector<const std::vector<float>*> train;
  for (const auto& v : splits.vectors[kTrain]) train.push_back(&v);
  L.norm = fit_normalization(normalize, train, splits.dim);
  for (int k = 0; k < 3; ++k)
    for (auto& v : splits.vectors[k]) L.norm.apply(v, splits.dim);
  for (int k = 0; k < 3; ++k) {
    const Split s = static_cast<Split>(k);
    if (!labels.types.empty()) L.types[k] = split_types(labels, s);
    switch (kind) {
      case ProbeKind::ast: L.ast[k] = take_probe_dataset(splits, labels, s); break;
      case ProbeKind::distance: L.structural[k] = take_structural_dataset(splits, labels, s, true); break;
      case ProbeKind::depth: L.structural[k] = take_structural_dataset(splits, labels, s, false); break;
      case ProbeKind::linear: L.tokens[k] = take_token_dataset(splits, labels, s); break;
    }
  }
  return L;
}

std::vector<BaselineScore> store_label_baselines(const StoreLabels& labels, const std::vector<uint64_t>& seeds) {
  ProbeDataset ds[2];
  for (int k : {kTrain, kTest}) {
    ProbeDataset& d = ds[k == kTrain ? 0 : 1];
    d.n_c_labels = static_cast<int>(labels.vocab.c.labels.size());
    d.n_u_labels = static_cast<int>(labels.vocab.u.labels.size());
    for (int64_t s : labels.snippets[k]) {
      ProbeSample x;
      x.n_words = static_cast<int>(labels.word_offsets[s + 1] - labels.word_offsets[s]);
      x.d = labels.d[s], x.c = labels.c[s], x.u = labels.u[s];
      d.samples.push_back(std::move(x));
    }
  }
  return label_baselines(ds[0], ds[1], labels.vocab, seeds);
}

nlohmann::json fit_one(LayerData& data, const StoreLabels& labels, const Settings& s, const FitRequest& req,
                       const SweepOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  nlohmann::json row;
  switch (data.kind) {
    case ProbeKind::ast: row = fit_ast(data, labels, s, req, opt); break;
    case ProbeKind::distance:
    case ProbeKind::depth: row = fit_structural(data, labels, s, req, opt); break;
    case ProbeKind::linear: row = fit_linear(data, labels, s, req, opt); break;
  }
  row["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto sizes = [&](int k) -> int64_t {
    switch (data.kind) {
      case ProbeKind::ast: return static_cast<int64_t>(data.ast[k].samples.size());
      case ProbeKind::linear: return static_cast<int64_t>(data.types[k].size());
      default: return static_cast<int64_t>(data.structural[k].samples.size());
    }
  };
  row["n_train"] = sizes(kTrain), row["n_valid"] = sizes(kValid), row["n_test"] = sizes(kTest);
  return row;
}

}  // namespace ps::probes::sweep
