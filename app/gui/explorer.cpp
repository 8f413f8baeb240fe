#include "app/gui/explorer.h"

#include <QComboBox>
#include <QBoxLayout>
#include <QGridLayout>
#include <QLabel>
#include <QSlider>
#include <QSpinBox>
#include <QTabWidget>
#include <algorithm>

#include "analysis/plot/attention.h"
#include "analysis/plot/masks.h"
#include "analysis/plot/probe_trees.h"
#include "analysis/plot/trees.h"
#include "app/gui/figure_view.h"
#include "data/store/reader.h"
#include "probes/show.h"

namespace ps::gui {

namespace {
QString qs(const std::string& s) { return QString::fromStdString(s); }
}  // namespace

LayerExplorer::LayerExplorer(Session& session, Selection& selection, QWidget* parent)
    : QWidget(parent), s_(session), sel_(selection) {
  snippet_ = new QSpinBox;
  snippet_id_ = new QLabel;
  layer_label_ = new QLabel("layer –");
  f1_ = new QLabel;
  f1_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  slider_ = new QSlider(Qt::Horizontal);
  slider_->setTickPosition(QSlider::TicksBelow);
  slider_->setPageStep(1);
  k_ = new QComboBox;
  head_ = new QComboBox;
  mode_ = new QComboBox;
  mode_->setEditable(true);  // any mode plot::parse_mask_mode accepts
  for (const char* m : {"causal", "bidirectional", "lm-infinite:4:16", "lm-infinite:4:16:32", "lm-infinite:4:16:none",
                        "window:16", "window:16:bidirectional"})
    mode_->addItem(m);
  trees_ = new FigurePanel;
  attention_ = new FigurePanel;
  mask_ = new FigurePanel;

  auto* attn_page = new QWidget;
  auto* al = new QVBoxLayout(attn_page);
  auto* ah = new QHBoxLayout;
  ah->addWidget(new QLabel("head"));
  ah->addWidget(head_);
  ah->addWidget(new QLabel("Ctrl+wheel zooms"));
  ah->addStretch();
  al->addLayout(ah);
  al->addWidget(attention_, 1);
  auto* mask_page = new QWidget;
  auto* ml = new QVBoxLayout(mask_page);
  auto* mh = new QHBoxLayout;
  mh->addWidget(new QLabel("masking mode"));
  mh->addWidget(mode_, 1);
  ml->addLayout(mh);
  ml->addWidget(mask_, 1);
  tabs_ = new QTabWidget;
  tabs_->addTab(trees_, "Gold vs recovered tree");
  tabs_->addTab(attn_page, "Attention");
  tabs_->addTab(mask_page, "Attention mask");

  auto* top = new QGridLayout;
  top->addWidget(new QLabel("snippet"), 0, 0);
  top->addWidget(snippet_, 0, 1);
  top->addWidget(snippet_id_, 0, 2);
  top->addWidget(new QLabel("probe k"), 0, 3);
  top->addWidget(k_, 0, 4);
  top->addWidget(layer_label_, 1, 0);
  top->addWidget(slider_, 1, 1, 1, 4);
  top->addWidget(f1_, 2, 0, 1, 5);
  top->setColumnStretch(2, 1);
  auto* v = new QVBoxLayout(this);
  v->addLayout(top);
  v->addWidget(tabs_, 1);

  // The widgets write the selection; its signals redraw this panel and the others.
  connect(slider_, &QSlider::valueChanged, this, [this](int L) { if (!updating_) sel_.setLayer(L); });
  connect(snippet_, qOverload<int>(&QSpinBox::valueChanged), this, [this](int i) { if (!updating_) sel_.setSnippet(i); });
  connect(k_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
    if (!updating_ && k_->currentData().isValid()) sel_.setK(k_->currentData().toInt());
  });
  connect(head_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int i) { if (i >= 0) sel_.setHead(i - 1); });
  connect(mode_, &QComboBox::currentTextChanged, this, [this] { if (!updating_) update_mask(); });
  connect(&sel_, &Selection::layerChanged, this, &LayerExplorer::follow_layer);
  connect(&sel_, &Selection::snippetChanged, this, &LayerExplorer::follow_snippet);
  connect(&sel_, &Selection::kChanged, this, &LayerExplorer::follow_k);
  connect(&sel_, &Selection::headChanged, this, [this] { if (!updating_) update_attention(); });
  reload();
}

void LayerExplorer::reload() {
  updating_ = true;
  const auto layers = s_.layers();
  slider_->setEnabled(!layers.empty());
  slider_->setRange(layers.empty() ? 0 : layers.front(), layers.empty() ? 0 : layers.back());
  snippet_->setRange(0, s_.has_store() ? int(s_.store()->num_samples() - 1) : 0);
  k_->clear();
  for (int k : s_.probe_ks()) k_->addItem(QString::number(k), k);
  if (s_.has_model() && s_.model().causal == false && mode_->currentText() == "causal") mode_->setCurrentIndex(1);
  follow_layer(sel_.layer());
  follow_snippet(sel_.snippet());
  follow_k(sel_.k());
  updating_ = false;
  update_all();
}

void LayerExplorer::follow_layer(int layer) {
  const QSignalBlocker block(slider_);
  slider_->setValue(layer);
  // Without a store the curves may still pick any layer; with one, only the layers it holds.
  if (s_.has_store() && slider_->value() != layer) return sel_.setLayer(slider_->value());
  if (!updating_) update_all();
}

void LayerExplorer::follow_snippet(int64_t snippet) {
  const QSignalBlocker block(snippet_);
  snippet_->setValue(int(snippet));
  if (s_.has_store() && snippet_->value() != snippet) return sel_.setSnippet(snippet_->value());
  if (!updating_) update_all();
}

void LayerExplorer::follow_k(int k) {
  const int i = k_->findData(k);
  if (i < 0 && k_->count() > 0) return sel_.setK(k_->itemData(k_->count() - 1).toInt());  // default: the largest k
  const QSignalBlocker block(k_);
  k_->setCurrentIndex(i);
  if (!updating_) update_trees();
}

void LayerExplorer::setMaskMode(const QString& mode) { mode_->setCurrentText(mode); }
void LayerExplorer::setTab(int index) { tabs_->setCurrentIndex(index); }

FigureView* LayerExplorer::currentView() const {
  FigurePanel* p[] = {trees_, attention_, mask_};
  return p[std::clamp(tabs_->currentIndex(), 0, 2)]->view();
}

void LayerExplorer::update_all() {
  layer_label_->setText(QString("layer %1").arg(layer()));
  snippet_id_->setText(s_.has_store() ? qs(s_.store()->id(snippet())) : QString());
  update_trees();
  update_attention();
  update_mask();
}

std::optional<std::vector<std::string>> LayerExplorer::word_texts() const {
  const auto code = s_.snippet_code(snippet());
  if (!code) return std::nullopt;
  try {
    return probes::word_texts(*code, s_.store()->words(snippet()).spans);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void LayerExplorer::update_trees() {
  probe_.reset();
  if (!s_.has_store()) return trees_->view()->setFigure(std::nullopt, "Open an activation store (File ▸ Open store).");
  const auto row = s_.probe_row(layer(), sel_.k());
  if (!row) {
    f1_->setText(QString("layer %1: no AST-Probe fitted").arg(layer()));
    return trees_->view()->setFigure(
        std::nullopt, QString("No AST-Probe for layer %1 of %2. Open a probe results.csv (File ▸ Open results) "
                              "or fit one (Run ▸ Fit AST-Probes).")
                          .arg(layer())
                          .arg(qs(s_.store_label())));
  }
  try {
    const auto& probe = s_.load_probe(row->probe_path);
    const auto words = word_texts();
    const auto v = probes::predict_snippet(*s_.store(), probe, snippet(), words ? &*words : nullptr);
    auto pair = plot::tree_pair(plot::plot_tree(v.gold, v.tokens), plot::plot_tree(v.predicted, v.tokens),
                                v.id + " — layer " + std::to_string(v.layer) + ", k " + std::to_string(row->k));
    probe_ = row;
    f1_->setText(QString("layer %1 · k %2 · snippet F1 %3 (%4/%5 constituents) · test F1 (macro) %6")
                     .arg(v.layer)
                     .arg(row->k)
                     .arg(v.prf.f1, 0, 'f', 3)
                     .arg(v.counts.matched)
                     .arg(v.counts.gold)
                     .arg(row->f1, 0, 'f', 3));
    trees_->view()->setFigure(std::move(pair));
  } catch (const std::exception& e) {
    f1_->setText(QString("layer %1: %2").arg(layer()).arg(e.what()));
    trees_->view()->setFigure(std::nullopt, e.what());
  }
}

void LayerExplorer::update_attention() {
  if (!s_.has_store()) return attention_->view()->setFigure(std::nullopt, "Open an activation store.");
  const auto layers = plot::attention_layers(*s_.store());
  if (std::find(layers.begin(), layers.end(), layer()) == layers.end())
    return attention_->view()->setFigure(
        std::nullopt, layer() == 0 ? "Layer 0 is the embedding output: attention layer L is block L−1."
                                   : QString("The store has no attention table for layer %1 (extract with "
                                             "--attention-layers).").arg(layer()));
  try {
    const auto p = plot::load_attention(*s_.store(), snippet(), layer());
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
    if (head != sel_.head()) return sel_.setHead(head);  // one this model has; redraws through headChanged
    const auto labels = plot::token_labels(s_.store()->tokens(snippet()).input_ids, s_.tokenizer());
    auto h = plot::attention_heatmap(p, head, labels);
    h.title = s_.store()->id(snippet()) + ": " + h.title;
    attention_->view()->setFigure(std::move(h));
  } catch (const std::exception& e) {
    attention_->view()->setFigure(std::nullopt, e.what());
  }
}

void LayerExplorer::update_mask() {
  try {
    const auto mode = plot::parse_mask_mode(mode_->currentText().toStdString());
    int64_t n = 32;  // without a store: a small example
    if (s_.has_store()) n = std::clamp<int64_t>(s_.store()->token_range(snippet()).end - s_.store()->token_range(snippet()).begin, 2, 128);
    plot::MaskFigure m;
    m.panels.push_back(plot::mask_panel(mode, mode.packed.empty() ? n : 0));
    m.title = s_.has_store() ? "snippet " + s_.store()->id(snippet()) + " (" + std::to_string(n) + " tokens)" : "";
    mask_->view()->setFigure(std::move(m));
  } catch (const std::exception& e) {
    mask_->view()->setFigure(std::nullopt, e.what());
  }
}

}  // namespace ps::gui
