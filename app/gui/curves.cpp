#include "app/gui/curves.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QTabWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <set>

#include "analysis/plot/table.h"
#include "app/gui/figure_view.h"

namespace ps::gui {

namespace {

// Distinct values of a column (to decide which columns tell series apart).
size_t distinct(const plot::CsvTable& t, const std::string& col) {
  const auto it = std::find(t.header.begin(), t.header.end(), col);
  if (it == t.header.end()) return 0;
  std::set<std::string> v;
  for (const auto& r : t.rows) v.insert(r[size_t(it - t.header.begin())]);
  return v.size();
}

// model always; k, task, language only when they vary, so legends stay short.
std::vector<std::string> probe_groups(const plot::CsvTable& t, bool with_k) {
  std::vector<std::string> g = {"model"};
  if (with_k && distinct(t, "k") > 1) g.push_back("k");
  if (distinct(t, "language") > 1) g.push_back("language");
  if (distinct(t, "task") > 1) g.push_back("task");
  return g;
}

}  // namespace

CurvesPanel::CurvesPanel(Session& session, Selection& selection, QWidget* parent)
    : QWidget(parent), s_(session), sel_(selection) {
  tabs_ = new QTabWidget;
  const char* names[] = {"F1 by layer", "F1 by k", "Intrinsic dimension by layer"};
  for (int i = 0; i < 3; ++i) panels_[i] = new FigurePanel;
  tabs_->addTab(panels_[0], names[0]);
  tabs_->addTab(panels_[1], names[1]);
  estimators_ = new QComboBox;
  auto* id_page = new QWidget;
  auto* id_bar = new QHBoxLayout;
  id_bar->addWidget(new QLabel("estimator"));
  id_bar->addWidget(estimators_);
  id_bar->addStretch(1);
  auto* id_col = new QVBoxLayout(id_page);
  id_col->setContentsMargins(0, 4, 0, 0);
  id_col->addLayout(id_bar);
  id_col->addWidget(panels_[2], 1);
  tabs_->addTab(id_page, names[2]);
  connect(estimators_, &QComboBox::currentTextChanged, this, [this](const QString&) {
    try {
      const auto p = id_by_layer();
      panels_[2]->view()->setFigure(p ? std::optional<plot::FigureSpec>(*p) : std::nullopt,
                                    "Open an id.csv (probescope id, or Run ▸ Intrinsic dimension).");
    } catch (const std::exception& e) {
      panels_[2]->view()->setFigure(std::nullopt, e.what());
    }
  });
  for (int i : {0, 2})
    connect(panels_[i]->view(), &FigureView::pointClicked, this,
            [this](int, int, double x, double) {
              sel_.setLayer(int(x));
              Q_EMIT layerClicked(int(x));
            });
  connect(&sel_, &Selection::layerChanged, this, &CurvesPanel::update_f1_by_k);
  auto* v = new QVBoxLayout(this);
  v->setContentsMargins(0, 0, 0, 0);
  v->addWidget(tabs_);
  reload();
}

FigurePanel* CurvesPanel::panel(int index) const { return panels_[std::clamp(index, 0, 2)]; }
FigureView* CurvesPanel::currentView() const { return panel(tabs_->currentIndex())->view(); }
void CurvesPanel::setTab(int index) { tabs_->setCurrentIndex(index); }
void CurvesPanel::setEstimator(const QString& estimator) { estimators_->setCurrentText(estimator); }
QString CurvesPanel::estimator() const { return estimators_->currentText(); }

void CurvesPanel::refresh_estimators() {
  std::vector<std::string> found;
  for (const auto& t : s_.id_tables()) {
    const auto it = std::find(t.header.begin(), t.header.end(), "estimator");
    if (it == t.header.end()) continue;
    for (const auto& r : t.rows) {
      const auto& e = r[size_t(it - t.header.begin())];
      if (std::find(found.begin(), found.end(), e) == found.end()) found.push_back(e);
    }
  }
  const QString keep = estimators_->currentText();
  const QSignalBlocker block(estimators_);
  estimators_->clear();
  for (const auto& e : found) estimators_->addItem(QString::fromStdString(e));
  if (found.size() > 1) estimators_->addItem("all");
  const bool has_twonn = std::find(found.begin(), found.end(), "twonn") != found.end();
  const int i = estimators_->findText(keep.isEmpty() ? (has_twonn ? "twonn" : "all") : keep);
  estimators_->setCurrentIndex(i >= 0 ? i : 0);
}

void CurvesPanel::update_f1_by_k() {
  const auto p = f1_by_k();
  panels_[1]->view()->setFigure(p ? std::optional<plot::FigureSpec>(*p) : std::nullopt,
                                QString("No AST-Probe results at layer %1.").arg(sel_.layer()));
}

void CurvesPanel::reload() {
  auto show = [](FigurePanel* panel, const std::optional<plot::LinePlot>& p, const QString& why) {
    panel->view()->setFigure(p ? std::optional<plot::FigureSpec>(*p) : std::nullopt, why);
  };
  try {
    show(panels_[0], f1_by_layer(), "Open AST-Probe results (results.csv from probescope probe ast or Run ▸ Fit AST-Probes).");
    update_f1_by_k();
    refresh_estimators();
    show(panels_[2], id_by_layer(), "Open an id.csv (probescope id, or Run ▸ Intrinsic dimension).");
  } catch (const std::exception& e) {
    for (auto* p : panels_) p->view()->setFigure(std::nullopt, e.what());
  }
}

std::optional<plot::LinePlot> CurvesPanel::f1_by_layer() const {
  if (s_.probe_tables().empty()) return std::nullopt;
  const auto t = merge_tables(s_.probe_tables());
  plot::LineQuery q;
  q.x = "layer";
  q.y = "f1_macro";
  q.group = probe_groups(t, true);
  auto p = plot::lines_from_table(t, q);
  p.title = "AST-Probe F1 by layer";
  p.y.label = "F1 (macro, test)";
  return p;
}

std::optional<plot::LinePlot> CurvesPanel::f1_by_k() const {
  if (s_.probe_tables().empty()) return std::nullopt;
  const auto t = merge_tables(s_.probe_tables());
  plot::LineQuery q;
  q.x = "k";
  q.y = "f1_macro";
  q.group = probe_groups(t, false);
  const std::string layer = std::to_string(sel_.layer());
  q.where = {{"layer", layer}};
  auto p = plot::lines_from_table(t, q);
  if (p.series.empty()) return std::nullopt;
  p.title = "AST-Probe F1 by k, layer " + layer;
  p.x.log = true;
  p.y.label = "F1 (macro, test)";
  return p;
}

std::optional<plot::LinePlot> CurvesPanel::id_by_layer() const {
  if (s_.id_tables().empty()) return std::nullopt;
  plot::LineQuery q;
  q.x = "layer";
  q.y = "id";
  const std::string est = estimators_->currentText().toStdString();
  q.group = {"model", "estimator"};
  if (!est.empty() && est != "all") {
    q.group = {"model"};
    q.where = {{"estimator", est}};
  }
  q.lo = "lo";
  q.hi = "hi";
  auto p = plot::lines_from_table(merge_tables(s_.id_tables()), q);
  p.title = "Intrinsic dimension by layer" + (q.where.empty() ? std::string() : " (" + est + ")");
  p.y.label = "intrinsic dimension";
  return p;
}

}  // namespace ps::gui
