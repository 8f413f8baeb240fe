// CompareView's runs and outputs: where each side's probe comes from, the worker that analyses the snippet on
// both sides (cancelled when inputs change, only the latest drawn), export through the plot renderer and
// save-to-corpus. The widgets and settings are in compare_view.cpp.
#include <QLabel>
#include <QMetaObject>
#include <chrono>

#include "analysis/lens/lens_live.h"
#include "analysis/plot/export.h"
#include "app/gui/compare_side.h"
#include "app/gui/compare_view.h"
#include "app/gui/figure_view.h"
#include "app/gui/lens_panel.h"
#include "app/gui/session.h"
#include "app/render/render.h"
#include "data/corpus/append.h"
#include "models/transformer/engine.h"
#include "models/util/files.h"
#include "probes/ast_probe.h"

namespace ps::gui {

namespace {
double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

void CompareView::setProbeSession(int side, Session* session) {
  sides_[size_t(side)].probes = session;
  sides_[size_t(side)].own_probes.reset();
  request();
}

bool CompareView::setResults(int side, const QString& csv) {
  auto session = std::make_shared<Session>();
  try {
    if (session->add_results(csv.toStdString()) != "probe" || session->probe_rows().empty())
      throw std::runtime_error(csv.toStdString() + ": no fitted AST-Probes in it (a probe sweep's results.csv)");
  } catch (const std::exception& e) {
    last_error_ = QString::fromStdString(e.what());
    status_->setText("results " + compare_side_name(side) + ": " + last_error_);
    return false;
  }
  sides_[size_t(side)].own_probes = session;
  sides_[size_t(side)].probes = session.get();
  request();
  return true;
}

Session* CompareView::probe_session(int side) const {
  const auto has = [](Session* s) { return s && !s->probe_rows().empty(); };
  if (has(sides_[size_t(side)].probes)) return sides_[size_t(side)].probes;
  return side == 1 && has(sides_[0].probes) ? sides_[0].probes : nullptr;
}

CompareView::~CompareView() {
  if (cancel_) cancel_->store(true);
  if (worker_.joinable()) worker_.join();
  if (loader_.joinable()) loader_.join();
}

void CompareView::request() {
  debounce_.stop();
  if (code_.trimmed().isEmpty() || !sides_[0].model) return;
  if (running_) {  // drop the stale run at its next stage boundary; the latest inputs run when it returns
    pending_ = true;
    if (cancel_) cancel_->store(true);
    return;
  }
  start_run();
}

void CompareView::start_run() {
  if (worker_.joinable()) worker_.join();
  running_ = true;
  pending_ = false;
  cancel_ = std::make_shared<std::atomic<bool>>(false);
  status_->setText("computing…");
  std::array<std::shared_ptr<const live::LiveModel>, 2> models = {sides_[0].model, compare_ ? sides_[1].model : nullptr};
  std::array<std::string, 2> masks = {sides_[0].mask.toStdString(), sides_[1].mask.toStdString()};
  // Each side's probe at the selected layer and k, loaded (and cached) here; the worker gets its own copy.
  std::array<std::shared_ptr<const probes::SavedAstProbe>, 2> probe;
  std::array<std::string, 2> probe_path;
  std::array<int, 2> probe_k{};
  std::array<QString, 2> probe_error;
  for (int s = 0; s < 2; ++s) {
    Session* src = probe_session(s);
    const auto row = src ? src->probe_row(sel_.layer(), sel_.k()) : std::nullopt;
    if (!row || !models[size_t(s)]) continue;
    try {
      probe[size_t(s)] = std::make_shared<const probes::SavedAstProbe>(src->load_probe(row->probe_path));
      probe_path[size_t(s)] = row->probe_path;
      probe_k[size_t(s)] = row->k;
    } catch (const std::exception& e) {
      probe_error[size_t(s)] = QString::fromStdString(row->probe_path + ": " + e.what());
    }
  }
  worker_ = std::thread([this, models, masks, probe, probe_path, probe_k, probe_error, code = code_.toStdString(), lang = language_, pos = masked_position_,
                         k = top_k_, cancel = cancel_] {
    std::array<std::optional<Outcome>, 2> out;
    for (int s = 0; s < 2; ++s) {
      if (!models[size_t(s)] || cancel->load()) continue;
      Outcome o;
      o.probe_error = probe_error[size_t(s)];
      const auto t0 = std::chrono::steady_clock::now();
      try {
        live::LiveRequest req;
        req.code = code;
        req.language = lang;
        req.forward.mask = masks[size_t(s)];
        req.cancel = cancel.get();
        req.probe = probe[size_t(s)].get();
        req.probe_path = probe_path[size_t(s)];
        req.probe_k = probe_k[size_t(s)];
        try {
          o.result = live::analyze(*models[size_t(s)], req);
        } catch (const std::exception& e) {
          if (!req.probe) throw;
          // A probe of another model (side A's on a different B): the side runs without it and says why.
          req.probe = nullptr;
          o.result = live::analyze(*models[size_t(s)], req);
          o.probe_error = QString::fromStdString(e.what());
        }
        o.timing.forward = o.result->seconds_forward;
        o.timing.total = o.result->seconds_total;
        if (o.result->ok()) {
          const auto t1 = std::chrono::steady_clock::now();
          const auto& m = *models[size_t(s)];
          const int64_t kk = std::min<int64_t>(k, m.engine->model().arch().vocab_size);
          if (m.causal) {
            o.lens = lens::live_logit_lens(m, o.result->tokens, o.result->states, kk);
          } else {
            const int64_t p = std::clamp<int64_t>(pos, 0, int64_t(o.result->tokens.ids.size()) - 1);
            o.lens = lens::live_mlm_fillers(m, o.result->tokens, p, kk, masks[size_t(s)]);
          }
          o.timing.lens = since(t1);
        } else {
          o.error = QString::fromStdString(o.result->message);
        }
      } catch (const std::exception& e) {
        o.error = QString::fromStdString(e.what());
      }
      o.timing.total = since(t0);
      out[size_t(s)] = std::move(o);
    }
    QMetaObject::invokeMethod(this, [this, out = std::move(out)]() mutable { finish_run(std::move(out)); },
                              Qt::QueuedConnection);
  });
}

void CompareView::finish_run(std::array<std::optional<Outcome>, 2> outcome) {
  if (worker_.joinable()) worker_.join();
  running_ = false;
  if (pending_) {  // inputs changed meanwhile: this result is stale
    start_run();
    return;
  }
  for (int s = 0; s < 2; ++s) {
    auto& side = sides_[size_t(s)];
    if (!outcome[size_t(s)]) continue;
    auto& o = *outcome[size_t(s)];
    side.error = o.error;
    side.probe_error = o.probe_error;
    side.timing = o.timing;
    // A parse error keeps the panels' last good state (the message says why nothing moved).
    if (o.result && (o.result->ok() || !side.result)) side.result = std::move(o.result);
    if (o.lens) side.lens = std::move(o.lens);
  }
  redraw();
  QStringList parts;
  for (int s = 0; s < (compare_ ? 2 : 1); ++s) {
    const auto& side = sides_[size_t(s)];
    if (!side.error.isEmpty()) parts << compare_side_name(s) + ": " + side.error;
    else if (side.timing)
      parts << QString("%1: %2 ms (forward %3, lens %4)")
                   .arg(compare_side_name(s))
                   .arg(side.timing->total * 1e3, 0, 'f', 0)
                   .arg(side.timing->forward * 1e3, 0, 'f', 0)
                   .arg(side.timing->lens * 1e3, 0, 'f', 0);
    if (!side.probe_error.isEmpty()) parts << compare_side_name(s) + " without its probe: " + side.probe_error;
  }
  status_->setText(parts.join(" · "));
  Q_EMIT updated();
}

QStringList CompareView::exportPanels(const QString& prefix, const QString& formats) {
  QStringList out;
  try {
    render::SaveOptions o;
    o.formats = render::parse_formats(formats.toStdString());
    auto save = [&](const plot::FigureSpec* f, const QString& name, double width) {
      if (!f) return;
      o.width_in = width;
      for (const auto& p : render::save_figure(*f, (prefix + "_" + name).toStdString(), o)) out << QString::fromStdString(p);
    };
    for (int s = 0; s < (compare_ ? 2 : 1); ++s) {
      const QString n = compare_side_name(s);
      save(attentionPanel(s)->view()->figure(), "attention_" + n, plot::kTwoColumnInches);
      save(treePanel(s)->view()->figure(), "trees_" + n, plot::kTwoColumnInches);
      save(distancePanel(s)->view()->figure(), "distances_" + n, plot::kOneColumnInches);
      if (const auto fig = lensPanel(s)->figure()) save(&*fig, "lens_" + n, plot::kTwoColumnInches);
      if (const auto* t = lens(s)) {
        const QString csv = prefix + "_lens_" + n + ".table.csv";
        write_file_atomic(csv.toStdString(), lens::lens_csv(*t));
        out << csv;
      }
    }
    save(curves_->view()->figure(), "by_layer", plot::kOneColumnInches);
  } catch (const std::exception& e) {
    last_error_ = QString::fromStdString(e.what());
    return {};
  }
  if (out.isEmpty()) last_error_ = "nothing to export: no snippet analysed yet";
  return out;
}

QString CompareView::saveSnippet(const QString& jsonl_path, const QString& id) {
  try {
    corpus::Snippet s;
    s.id = id.toStdString();
    s.language = syntax::language_name(language_);
    s.code = code_.toStdString();
    return QString::fromStdString(corpus::append_snippet(jsonl_path.toStdString(), s));
  } catch (const std::exception& e) {
    last_error_ = QString::fromStdString(e.what());
    return {};
  }
}

}  // namespace ps::gui
