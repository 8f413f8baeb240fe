#include "app/gui/compare_side.h"

#include <QGridLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSplitter>
#include <QTabWidget>
#include <QVBoxLayout>
#include <algorithm>

#include "analysis/live/live_figures.h"
#include "app/gui/figure_view.h"
#include "app/gui/lens_panel.h"

namespace ps::gui {

namespace {

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

CompareSide::CompareSide(const QString& name, QWidget* parent) : QGroupBox("Model " + name, parent) {
  label_ = new QLabel("no model");
  mask_ = new QLineEdit("default");
  mask_->setToolTip("default, lm-infinite:G:L[:LIMIT|none] or window:W — changes this side's forward");
  rope_ = new QLineEdit;
  rope_->setPlaceholderText("checkpoint's own");
  rope_->setToolTip("RoPE scaling, e.g. yarn:4, dynamic:2, linear:2, none (rotary models only)");
  auto* form = new QGridLayout;
  form->addWidget(new QLabel("mask"), 0, 0);
  form->addWidget(mask_, 0, 1);
  form->addWidget(new QLabel("RoPE scaling"), 1, 0);
  form->addWidget(rope_, 1, 1);
  attention_ = new FigurePanel;
  trees_ = new FigurePanel;
  distances_ = new FigurePanel;
  tabs_ = new QTabWidget;
  tabs_->addTab(attention_, "Attention");
  tabs_->addTab(trees_, "Gold vs recovered tree");
  tabs_->addTab(distances_, "d̂ vs gold d");
  lens_ = new LensPanel;
  auto* panels = new QSplitter(Qt::Vertical);
  panels->addWidget(tabs_);
  panels->addWidget(lens_);
  auto* v = new QVBoxLayout(this);
  v->addWidget(label_);
  v->addLayout(form);
  v->addWidget(panels, 1);
  connect(mask_, &QLineEdit::editingFinished, this, [this] { Q_EMIT maskEdited(mask_->text()); });
  connect(rope_, &QLineEdit::editingFinished, this, [this] { Q_EMIT ropeEdited(rope_->text()); });
  connect(lens_, &LensPanel::positionPicked, this, &CompareSide::positionPicked);
}

void CompareSide::setModelLabel(const QString& text) { label_->setText(text); }

void CompareSide::draw(const live::LiveResult* r, const std::optional<lens::LensTable>& lens, const QString& title,
                       const QString& why, int layer, int head, bool encoder, int masked_position) {
  if (!r || !r->ok()) {
    const QString msg = why.isEmpty() ? "No snippet analysed yet." : why;
    for (FigurePanel* p : {attention_, trees_, distances_}) p->view()->setFigure(std::nullopt, msg);
    lens_->setTable(std::nullopt, title, msg);
    return;
  }
  const auto fig = attention_figure(*r, layer, head, title);
  attention_->view()->setFigure(fig ? std::optional<plot::FigureSpec>(*fig) : std::nullopt, "No attention captured.");
  try {
    trees_->view()->setFigure(live::trees_figure(*r, title.toStdString() + ": gold AST vs the AST-Probe's tree"));
  } catch (const std::exception& e) {
    trees_->view()->setFigure(std::nullopt, e.what());
  }
  distances_->view()->setFigure(live::distances_figure(*r, title.toStdString() + ": syntactic distance per adjacent word pair"));
  lens_->setMaskMode(encoder, int(r->tokens.ids.size()));
  lens_->setMaskedPosition(masked_position);
  lens_->setTable(lens, (encoder ? "Masked fillers — " : "Logit lens — ") + title, why);
}

}  // namespace ps::gui
