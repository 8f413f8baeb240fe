#include "app/gui/compare_view.h"

#include <QCheckBox>
#include <QFileDialog>
#include <QPushButton>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMetaObject>
#include <QSplitter>
#include <QTabWidget>
#include <QVBoxLayout>

#include "analysis/plot/figure.h"
#include "app/gui/compare_side.h"
#include "app/gui/figure_view.h"
#include "app/gui/session.h"
#include "models/open/variant.h"
#include "models/transformer/engine.h"

namespace ps::gui {

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
    auto* side = side_[size_t(s)] = new CompareSide(compare_side_name(s));
    sides->addWidget(side);
    connect(side, &CompareSide::maskEdited, this, [this, s](const QString& m) { setMask(s, m); });
    connect(side, &CompareSide::ropeEdited, this, [this, s](const QString& r) { setRopeScaling(s, r); });
    connect(side, &CompareSide::positionPicked, this, &CompareView::setMaskedPosition);
  }
  // Side by side means the same panel on both sides.
  for (int s = 0; s < 2; ++s)
    connect(side_[size_t(s)]->tabs(), &QTabWidget::currentChanged, this, [this, s](int i) {
      const QSignalBlocker block(side_[size_t(1 - s)]->tabs());
      side_[size_t(1 - s)]->tabs()->setCurrentIndex(i);
    });
  side_[1]->setVisible(false);
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
  // Another layer (or k) is another probe, so a side with probes reruns; attention alone only redraws.
  auto layer_or_k = [this] {
    if (probe_session(0) || probe_session(1)) request();
    else redraw();
  };
  connect(&sel_, &Selection::layerChanged, this, layer_or_k);
  connect(&sel_, &Selection::kChanged, this, layer_or_k);
  connect(&sel_, &Selection::headChanged, this, [this] { redraw(); });
}

LensPanel* CompareView::lensPanel(int s) const { return side_[size_t(s)]->lens(); }
FigurePanel* CompareView::attentionPanel(int s) const { return side_[size_t(s)]->attention(); }
FigurePanel* CompareView::treePanel(int s) const { return side_[size_t(s)]->trees(); }
FigurePanel* CompareView::distancePanel(int s) const { return side_[size_t(s)]->distances(); }
QLineEdit* CompareView::maskEdit(int s) const { return side_[size_t(s)]->maskEdit(); }
QLineEdit* CompareView::ropeEdit(int s) const { return side_[size_t(s)]->ropeEdit(); }

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
  side_[size_t(side)]->ropeEdit()->clear();
  side_[size_t(side)]->setModelLabel(s.base ? QString("%1 (%2, %3 layers)")
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
  side_[1]->setVisible(on);
  request();
}

bool CompareView::setMask(int side, const QString& mask) {
  models::RunOptions ro;
  ro.mask = mask.trimmed().isEmpty() ? "default" : mask.trimmed().toStdString();
  try {
    ro.validate();
  } catch (const std::exception& e) {
    last_error_ = QString::fromStdString(e.what());
    status_->setText("mask " + compare_side_name(side) + ": " + last_error_);
    return false;
  }
  sides_[size_t(side)].mask = QString::fromStdString(ro.mask);
  side_[size_t(side)]->maskEdit()->setText(QString::fromStdString(ro.mask));
  request();
  return true;
}

bool CompareView::setRopeScaling(int side, const QString& spec) {
  auto& s = sides_[size_t(side)];
  if (!s.base) {
    last_error_ = "model " + compare_side_name(side) + " is not loaded";
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
    status_->setText("RoPE scaling " + compare_side_name(side) + ": " + last_error_);
    return false;
  }
  side_[size_t(side)]->ropeEdit()->setText(s.rope);
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

void CompareView::redraw() {
  for (int s = 0; s < 2; ++s) redraw_side(s);
  redraw_curves();
}

void CompareView::redraw_side(int s) {
  const auto& side = sides_[size_t(s)];
  const QString title = side.base ? QString::fromStdString(side.base->label) +
                                        (side.mask != "default" ? " [" + side.mask + "]" : QString()) +
                                        (!side.rope.isEmpty() ? " [rope " + side.rope + "]" : QString())
                                  : "model " + compare_side_name(s);
  side_[size_t(s)]->draw(side.result ? &*side.result : nullptr, side.lens, title, side.error, sel_.layer(), sel_.head(),
                         side.base && !side.base->causal, masked_position_);
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
    const std::string name = compare_side_name(s).toStdString() + " " + (side.base ? side.base->label : "");
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

}  // namespace ps::gui
