#include "app/gui/compare_view.h"

#include <QCheckBox>
#include <QFileDialog>
#include <QPushButton>
#include <QFileInfo>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMetaObject>
#include <QSplitter>
#include <QVBoxLayout>
#include <chrono>

#include "analysis/lens/lens_live.h"
#include "analysis/plot/attention.h"
#include "analysis/plot/export.h"
#include "app/gui/figure_view.h"
#include "app/gui/lens_panel.h"
#include "app/render/render.h"
#include "data/corpus/append.h"
#include "models/open/variant.h"
#include "models/transformer/engine.h"
#include "models/util/files.h"

namespace ps::gui {

namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

QString side_name(int side) { return side == 0 ? "A" : "B"; }

// The head (or head mean) of block layer-1's pattern as the renderer's heatmap, tokens on both axes.
std::optional<plot::Heatmap> attention_figure(const live::LiveResult& r, int layer, int head, const QString& title) {
  if (r.states.patterns.empty()) return std::nullopt;
  const int b = std::clamp(layer, 1, int(r.states.patterns.size())) - 1;
  const auto& p = r.states.patterns[size_t(b)];
  plot::Heatmap h;
  h.title = title.toStdString() + " — layer " + std::to_string(p.layer) + (head >= 0 && head < p.heads ? ", head " + std::to_string(head) : ", head mean");
  h.x_label = "key";
  h.y_label = "query";
  h.value_label = "attention";
  h.rows = p.rows, h.cols = p.keys;
  h.vmin = 0, h.vmax = 1;
  h.values.assign(size_t(p.rows * p.keys), 0.0);
  const bool mean = head < 0 || head >= p.heads;
  for (int64_t hh = 0; hh < p.heads; ++hh) {
    if (!mean && hh != head) continue;
    for (int64_t q = 0; q < p.rows; ++q)
      for (int64_t k = 0; k < p.keys; ++k)
        h.values[size_t(q * p.keys + k)] += p.at(hh, p.first_row + q, k) / (mean ? double(p.heads) : 1.0);
  }
  for (int64_t q = 0; q < p.rows; ++q) h.row_labels.push_back(r.tokens.texts[size_t(p.first_row + q)]);
  for (int64_t k = 0; k < p.keys; ++k) h.col_labels.push_back(r.tokens.texts[size_t(k)]);
  return h;
}

}  // namespace

CompareView::CompareView(Selection& selection, QWidget* parent) : QWidget(parent), sel_(selection) {
  debounce_.setSingleShot(true);
  connect(&debounce_, &QTimer::timeout, this, &CompareView::request);
  compare_box_ = new QCheckBox("Compare with model B");
  status_ = new QLabel("Open a model (side A) and type a snippet.");
  status_->setWordWrap(true);
  auto* top = new QHBoxLayout;
  auto* load_b = new QPushButton("Load model B…");
  auto* save = new QPushButton("Save snippet to corpus…");
  auto* exp = new QPushButton("Export panels…");
  connect(load_b, &QPushButton::clicked, this, [this] {
    const QString d = QFileDialog::getExistingDirectory(this, "Model B (a checkpoint or an intervened model directory)");
    if (!d.isEmpty() && loadModel(1, d)) setCompare(true);
  });
  connect(save, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getSaveFileName(this, "Append the snippet to a JSONL corpus", "scratchpad.jsonl",
                                                   "JSONL (*.jsonl)", nullptr, QFileDialog::DontConfirmOverwrite);
    if (f.isEmpty()) return;
    const QString id = saveSnippet(f);
    status_->setText(id.isEmpty() ? "not saved: " + last_error_ : "saved as " + id + " in " + f);
  });
  connect(exp, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getSaveFileName(this, "Export prefix (writes PREFIX_<panel>.pdf/.svg/.png/.csv/.json)", "live");
    if (f.isEmpty()) return;
    const auto files = exportPanels(f);
    status_->setText(files.isEmpty() ? "export failed: " + last_error_ : QString("exported %1 files").arg(files.size()));
  });
  top->addWidget(compare_box_);
  top->addWidget(load_b);
  top->addWidget(save);
  top->addWidget(exp);
  top->addWidget(status_, 1);
  auto* sides = new QSplitter(Qt::Horizontal);
  for (int s = 0; s < 2; ++s) {
    side_box_[size_t(s)] = new QGroupBox("Model " + side_name(s));
    build_side_controls(s, side_box_[size_t(s)]);
    sides->addWidget(side_box_[size_t(s)]);
  }
  side_box_[1]->setVisible(false);
  curves_ = new FigurePanel;
  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(sides);
  split->addWidget(curves_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 1);
  split->setSizes({700, 240});  // the by-layer curves need room for their axes
  curves_->setMinimumHeight(180);
  auto* v = new QVBoxLayout(this);
  v->setContentsMargins(0, 0, 0, 0);
  v->addLayout(top);
  v->addWidget(split, 1);
  connect(compare_box_, &QCheckBox::toggled, this, &CompareView::setCompare);
  connect(&sel_, &Selection::layerChanged, this, [this] { redraw(); });
  connect(&sel_, &Selection::headChanged, this, [this] { redraw(); });
}

void CompareView::build_side_controls(int s, QWidget* box) {
  side_label_[size_t(s)] = new QLabel("no model");
  mask_edit_[size_t(s)] = new QLineEdit("default");
  mask_edit_[size_t(s)]->setToolTip("default, lm-infinite:G:L[:LIMIT|none] or window:W — changes this side's forward");
  rope_edit_[size_t(s)] = new QLineEdit;
  rope_edit_[size_t(s)]->setPlaceholderText("checkpoint's own");
  rope_edit_[size_t(s)]->setToolTip("RoPE scaling, e.g. yarn:4, dynamic:2, linear:2, none (rotary models only)");
  auto* form = new QGridLayout;
  form->addWidget(new QLabel("mask"), 0, 0);
  form->addWidget(mask_edit_[size_t(s)], 0, 1);
  form->addWidget(new QLabel("RoPE scaling"), 1, 0);
  form->addWidget(rope_edit_[size_t(s)], 1, 1);
  attention_[size_t(s)] = new FigurePanel;
  lens_[size_t(s)] = new LensPanel;
  auto* panels = new QSplitter(Qt::Vertical);
  panels->addWidget(attention_[size_t(s)]);
  panels->addWidget(lens_[size_t(s)]);
  auto* v = new QVBoxLayout(box);
  v->addWidget(side_label_[size_t(s)]);
  v->addLayout(form);
  v->addWidget(panels, 1);
  connect(mask_edit_[size_t(s)], &QLineEdit::editingFinished, this, [this, s] { setMask(s, mask_edit_[size_t(s)]->text()); });
  connect(rope_edit_[size_t(s)], &QLineEdit::editingFinished, this,
          [this, s] { setRopeScaling(s, rope_edit_[size_t(s)]->text()); });
  connect(lens_[size_t(s)], &LensPanel::positionPicked, this, &CompareView::setMaskedPosition);
}

CompareView::~CompareView() {
  if (cancel_) cancel_->store(true);
  if (worker_.joinable()) worker_.join();
  if (loader_.joinable()) loader_.join();
}

bool CompareView::loadModel(int side, const QString& dir, int threads) {
  if (loading_) {
    last_error_ = "a model is already loading";
    return false;
  }
  if (loader_.joinable()) loader_.join();
  loading_ = true;
  status_->setText("loading " + dir + "…");
  loader_ = std::thread([this, side, d = dir.toStdString(), threads] {
    std::shared_ptr<const live::LiveModel> m;
    QString err;
    try {
      models::LoadOptions lo;
      lo.threads = threads;
      m = std::make_shared<const live::LiveModel>(live::open_live_model(d, lo));
    } catch (const std::exception& e) {
      err = QString::fromStdString(e.what());
    }
    QMetaObject::invokeMethod(this, [this, side, m, err] {
      loading_ = false;
      if (!m) {
        last_error_ = err;
        status_->setText("cannot load: " + err);
        Q_EMIT modelLoaded(side, false, err);
        return;
      }
      setModel(side, m);
      Q_EMIT modelLoaded(side, true, QString::fromStdString(m->label));
    }, Qt::QueuedConnection);
  });
  return true;
}

void CompareView::setModel(int side, std::shared_ptr<const live::LiveModel> model) {
  auto& s = sides_[size_t(side)];
  s.base = s.model = std::move(model);
  s.rope.clear();
  rope_edit_[size_t(side)]->clear();
  side_label_[size_t(side)]->setText(s.base ? QString("%1 (%2, %3 layers)")
                                                  .arg(QString::fromStdString(s.base->label), QString::fromStdString(s.base->model_type))
                                                  .arg(s.base->layers)
                                            : "no model");
  request();
}

bool CompareView::hasModel(int side) const { return sides_[size_t(side)].model != nullptr; }

void CompareView::setCompare(bool on) {
  compare_ = on;
  const QSignalBlocker block(compare_box_);
  compare_box_->setChecked(on);
  side_box_[1]->setVisible(on);
  request();
}

bool CompareView::setMask(int side, const QString& mask) {
  models::RunOptions ro;
  ro.mask = mask.trimmed().isEmpty() ? "default" : mask.trimmed().toStdString();
  try {
    ro.validate();
  } catch (const std::exception& e) {
    last_error_ = QString::fromStdString(e.what());
    status_->setText("mask " + side_name(side) + ": " + last_error_);
    return false;
  }
  sides_[size_t(side)].mask = QString::fromStdString(ro.mask);
  mask_edit_[size_t(side)]->setText(QString::fromStdString(ro.mask));
  request();
  return true;
}

bool CompareView::setRopeScaling(int side, const QString& spec) {
  auto& s = sides_[size_t(side)];
  if (!s.base) {
    last_error_ = "model " + side_name(side) + " is not loaded";
    return false;
  }
  const std::string text = spec.trimmed().toStdString();
  try {
    auto m = std::make_shared<live::LiveModel>(*s.base);
    if (!text.empty()) m->engine = models::rescaled_engine(*s.base->engine, s.base->dir, text);  // weights shared
    s.model = std::move(m);
    s.rope = QString::fromStdString(text);
  } catch (const std::exception& e) {
    last_error_ = QString::fromStdString(e.what());
    status_->setText("RoPE scaling " + side_name(side) + ": " + last_error_);
    return false;
  }
  rope_edit_[size_t(side)]->setText(s.rope);
  request();
  return true;
}

void CompareView::setSnippet(const QString& code, syntax::Language language, int delay_ms) {
  code_ = code;
  language_ = language;
  if (delay_ms <= 0) request();
  else debounce_.start(delay_ms);
}

void CompareView::setMaskedPosition(int position) {
  if (position == masked_position_) return;
  masked_position_ = position;
  request();
}

void CompareView::setTopK(int k) {
  top_k_ = std::max(1, k);
  request();
}

const live::LiveResult* CompareView::result(int side) const {
  const auto& r = sides_[size_t(side)].result;
  return r ? &*r : nullptr;
}
const lens::LensTable* CompareView::lens(int side) const {
  const auto& l = sides_[size_t(side)].lens;
  return l ? &*l : nullptr;
}
std::optional<UpdateTiming> CompareView::timing(int side) const { return sides_[size_t(side)].timing; }

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
  worker_ = std::thread([this, models, masks, code = code_.toStdString(), lang = language_, pos = masked_position_,
                         k = top_k_, cancel = cancel_] {
    std::array<std::optional<Outcome>, 2> out;
    for (int s = 0; s < 2; ++s) {
      if (!models[size_t(s)] || cancel->load()) continue;
      Outcome o;
      const auto t0 = std::chrono::steady_clock::now();
      try {
        live::LiveRequest req;
        req.code = code;
        req.language = lang;
        req.forward.mask = masks[size_t(s)];
        req.cancel = cancel.get();
        o.result = live::analyze(*models[size_t(s)], req);
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
    side.timing = o.timing;
    // A parse error keeps the panels' last good state (the message says why nothing moved).
    if (o.result && (o.result->ok() || !side.result)) side.result = std::move(o.result);
    if (o.lens) side.lens = std::move(o.lens);
  }
  redraw();
  QStringList parts;
  for (int s = 0; s < (compare_ ? 2 : 1); ++s) {
    const auto& side = sides_[size_t(s)];
    if (!side.error.isEmpty()) parts << side_name(s) + ": " + side.error;
    else if (side.timing)
      parts << QString("%1: %2 ms (forward %3, lens %4)")
                   .arg(side_name(s))
                   .arg(side.timing->total * 1e3, 0, 'f', 0)
                   .arg(side.timing->forward * 1e3, 0, 'f', 0)
                   .arg(side.timing->lens * 1e3, 0, 'f', 0);
  }
  status_->setText(parts.join(" · "));
  Q_EMIT updated();
}

void CompareView::redraw() {
  for (int s = 0; s < 2; ++s) redraw_side(s);
  redraw_curves();
}

void CompareView::redraw_side(int s) {
  const auto& side = sides_[size_t(s)];
  const QString title = side.base ? QString::fromStdString(side.base->label) +
                                        (side.mask != "default" ? " [" + side.mask + "]" : QString()) +
                                        (!side.rope.isEmpty() ? " [rope " + side.rope + "]" : QString())
                                  : "model " + side_name(s);
  if (!side.result || !side.result->ok()) {
    attention_[size_t(s)]->view()->setFigure(std::nullopt, side.error.isEmpty() ? "No snippet analysed yet." : side.error);
    lens_[size_t(s)]->setTable(std::nullopt, title, side.error.isEmpty() ? "No snippet analysed yet." : side.error);
    return;
  }
  const auto fig = attention_figure(*side.result, sel_.layer(), sel_.head(), title);
  attention_[size_t(s)]->view()->setFigure(fig ? std::optional<plot::FigureSpec>(*fig) : std::nullopt, "No attention captured.");
  lens_[size_t(s)]->setMaskMode(side.base && !side.base->causal, int(side.result->tokens.ids.size()));
  lens_[size_t(s)]->setMaskedPosition(masked_position_);
  lens_[size_t(s)]->setTable(side.lens, (side.base && side.base->causal ? "Logit lens — " : "Masked fillers — ") + title,
                             side.error);
}

void CompareView::redraw_curves() {
  plot::LinePlot p;
  p.title = "By layer: attention on AST edges (head mean) and logit-lens top-1 = next token";
  p.x.label = "layer";
  p.y.label = "fraction";
  p.y.min = 0, p.y.max = 1;
  for (int s = 0; s < (compare_ ? 2 : 1); ++s) {
    const auto& side = sides_[size_t(s)];
    if (!side.result || !side.result->ok()) continue;
    const std::string name = side_name(s).toStdString() + " " + (side.base ? side.base->label : "");
    plot::Series ast{name + ": AST attention", {}, {}, {}, {}, {}};
    for (const auto& f : side.result->ast_fraction)
      if (f.head == -1) ast.x.push_back(f.layer), ast.y.push_back(f.fraction);
    if (!ast.x.empty()) p.series.push_back(std::move(ast));
    if (side.lens && !side.lens->masked_lm && side.lens->cols() > 1) {
      plot::Series acc{name + ": lens top-1 = next", {}, {}, {}, {}, {}};
      for (int64_t r = 0; r < side.lens->rows(); ++r) {
        int64_t hit = 0;
        for (int64_t c = 0; c + 1 < side.lens->cols(); ++c) hit += side.lens->at(r, c, 0).text == side.lens->target[size_t(c)];
        acc.x.push_back(side.lens->layers[size_t(r)]);
        acc.y.push_back(double(hit) / double(side.lens->cols() - 1));
      }
      p.series.push_back(std::move(acc));
    }
  }
  curves_->view()->setFigure(p.series.empty() ? std::nullopt : std::optional<plot::FigureSpec>(p),
                             "Curves appear once a snippet is analysed.");
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
      const QString n = side_name(s);
      save(attention_[size_t(s)]->view()->figure(), "attention_" + n, plot::kTwoColumnInches);
      if (const auto fig = lens_[size_t(s)]->figure()) save(&*fig, "lens_" + n, plot::kTwoColumnInches);
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
