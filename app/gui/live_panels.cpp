#include "app/gui/live_panels.h"

#include <QBoxLayout>
#include <QComboBox>
#include <QLabel>
#include <QTabWidget>
#include <algorithm>

#include "analysis/live/live_figures.h"
#include "app/gui/figure_view.h"

namespace ps::gui {

LivePanels::LivePanels(Selection& selection, QWidget* parent) : QWidget(parent), sel_(selection) {
  trees_ = new FigurePanel;
  distances_ = new FigurePanel;
  attention_ = new FigurePanel;
  head_ = new QComboBox;
  head_->addItem("mean of heads");
  fractions_ = new QLabel;
  fractions_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  fractions_->setWordWrap(true);
  auto* attn = new QWidget;
  auto* al = new QVBoxLayout(attn);
  auto* ah = new QHBoxLayout;
  ah->addWidget(new QLabel("head"));
  ah->addWidget(head_);
  ah->addWidget(new QLabel("hover a cell for its value"));
  ah->addStretch();
  al->addLayout(ah);
  al->addWidget(attention_, 1);
  al->addWidget(new QLabel("attention fraction on AST edges (tree distance ≤ 2), per head:"));
  al->addWidget(fractions_);
  tabs_ = new QTabWidget;
  tabs_->addTab(trees_, "Gold vs recovered tree");
  tabs_->addTab(distances_, "d̂ vs gold d");
  tabs_->addTab(attn, "Attention");
  auto* v = new QVBoxLayout(this);
  v->setContentsMargins(0, 0, 0, 0);
  v->addWidget(tabs_);
  trees_->view()->setFigure(std::nullopt, "Type a snippet: the gold AST and the probe's tree appear here.");
  distances_->view()->setFigure(std::nullopt, "Type a snippet.");
  attention_->view()->setFigure(std::nullopt, "Type a snippet.");
  connect(head_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int i) { if (i >= 0) sel_.setHead(i - 1); });
  connect(&sel_, &Selection::headChanged, this, &LivePanels::redraw);
}

FigureView* LivePanels::currentView() const {
  FigurePanel* p[] = {trees_, distances_, attention_};
  return p[std::clamp(tabs_->currentIndex(), 0, 2)]->view();
}

void LivePanels::show(std::shared_ptr<const live::LiveResult> result) {
  if (!result || !result->ok()) return;  // the last good state stays
  result_ = std::move(result);
  redraw();
}

void LivePanels::redraw() {
  if (!result_) return;
  const auto& r = *result_;
  try {
    trees_->view()->setFigure(live::trees_figure(r, "gold AST vs the AST-Probe's tree"));
  } catch (const std::exception& e) {
    trees_->view()->setFigure(std::nullopt, e.what());
  }
  distances_->view()->setFigure(live::distances_figure(r));
  fractions_->setText(QString::fromStdString(live::ast_fraction_text(r)));
  if (r.states.patterns.empty()) return attention_->view()->setFigure(std::nullopt, "No attention captured.");
  // Layer L (HF hidden_states) is block L-1's output: its pattern; layer 0 (embeddings) shows block 0.
  const int layer = std::clamp(sel_.layer(), 1, int(r.states.patterns.size()));
  const auto& p = r.states.patterns[size_t(layer - 1)];
  const int head = std::clamp(sel_.head(), -1, int(p.heads) - 1);
  {
    const QSignalBlocker block(head_);
    if (head_->count() != p.heads + 1) {
      head_->clear();
      head_->addItem("mean of heads");
      for (int h = 0; h < p.heads; ++h) head_->addItem(QString("head %1").arg(h));
    }
    head_->setCurrentIndex(head + 1);
  }
  attention_->view()->setFigure(live::pattern_heatmap(p, head, r.tokens.texts));
}

}  // namespace ps::gui
