#include "app/gui/main_window.h"

#include <QAction>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <memory>

#include "app/gui/compare_view.h"
#include "app/gui/curves.h"
#include "app/gui/explorer.h"
#include "app/gui/figure_view.h"
#include "app/gui/live_panels.h"
#include "app/gui/scratchpad.h"
#include "app/gui/snippet_view.h"
#include "data/store/reader.h"

namespace ps::gui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  snippet_ = new SnippetView(session_, selection_);
  explorer_ = new LayerExplorer(session_, selection_);
  curves_ = new CurvesPanel(session_, selection_);
  pages_ = new QTabWidget;
  pages_->addTab(explorer_, "Layer explorer");
  pages_->addTab(curves_, "Curves");
  scratchpad_ = new Scratchpad(session_, selection_);
  pages_->addTab(scratchpad_, "Scratchpad");
  // Compare: the scratchpad's snippet through the window's model (side A) and a second one, only while the page
  // is shown, so typing in the scratchpad never pays for two forwards.
  compare_ = new CompareView(selection_);
  compare_->setProbeSession(0, &session_);  // side A's probes (and B's, until B has its own) are the window's
  pages_->addTab(compare_, "Compare");
  // textChanged also fires on the highlighter's re-marking: the same text and language are not fed again.
  auto fed = std::make_shared<QString>();
  auto feed = [this, fed] {
    if (pages_->currentWidget() != compare_) return;
    syntax::Language lang = syntax::Language::Python;
    try {
      lang = syntax::language_from_name(scratchpad_->language().toStdString());
    } catch (const std::exception&) {
    }
    const QString text = scratchpad_->editor()->toPlainText(), key = scratchpad_->language() + '\n' + text;
    if (key == *fed) return;
    *fed = key;
    compare_->setSnippet(text, lang);
  };
  connect(scratchpad_->editor(), &QPlainTextEdit::textChanged, compare_, feed);
  connect(pages_, &QTabWidget::currentChanged, compare_, feed);
  auto* split = new QSplitter(Qt::Horizontal);
  split->addWidget(snippet_);
  split->addWidget(pages_);
  split->setStretchFactor(0, 2);
  split->setStretchFactor(1, 3);
  split->setSizes({520, 880});  // source lines of typical functions fit without scrolling
  setCentralWidget(split);

  status_ = new QLabel("Open a model, a store or results (File menu).");
  bar_ = new QProgressBar;
  bar_->setMaximumWidth(220);
  bar_->setVisible(false);
  cancel_ = new QPushButton("Cancel");
  cancel_->setVisible(false);
  statusBar()->addWidget(status_, 1);
  statusBar()->addPermanentWidget(bar_);
  statusBar()->addPermanentWidget(cancel_);
  connect(cancel_, &QPushButton::clicked, this, &MainWindow::cancelTask);
  connect(&runner_, &TaskRunner::started, this, [this](const QString& label) {
    status_->setText(label + "…");
    bar_->setRange(0, 0);
    bar_->setVisible(true);
    cancel_->setVisible(true);
    cancel_->setEnabled(true);
  });
  connect(&runner_, &TaskRunner::progressed, this, [this](qint64 done, qint64 total) {
    if (total > 0) {
      bar_->setRange(0, int(total));
      bar_->setValue(int(std::min(done, total)));
    }
  });
  connect(&runner_, &TaskRunner::finished, this, [this](bool ok, bool cancelled, const QString& msg) {
    bar_->setVisible(false);
    cancel_->setVisible(false);
    if (ok) status_->setText(msg);
    else report("Background task failed", msg);
    Q_EMIT taskFinished(ok, cancelled, msg);
  });

  // The panels follow the selection themselves; a layer picked on a curve is looked at in the explorer.
  connect(curves_, &CurvesPanel::layerClicked, this, [this] { showPage(0); });
  build_menus();
  update_title();
  resize(1400, 860);
}

MainWindow::~MainWindow() = default;

void MainWindow::build_menus() {
  // One helper instead of QMenu::addAction(text, object, slot, shortcut), deprecated in Qt 6.3+.
  auto add = [this](QMenu* m, const QString& text, auto slot, const QKeySequence& key = {}) {
    QAction* a = m->addAction(text);
    a->setShortcut(key);
    connect(a, &QAction::triggered, this, slot);
  };
  auto zoom = [this](double f) {
    if (auto* p = qobject_cast<FigurePanel*>(currentView()->parentWidget()->parentWidget())) p->setZoom(p->zoom() * f);
  };
  auto* file = menuBar()->addMenu("&File");
  add(file, "Open &model directory…", &MainWindow::ask_open_model);
  add(file, "Open activation &store…", &MainWindow::ask_open_store, QKeySequence::Open);
  add(file, "Open &results (results.csv, id.csv)…", &MainWindow::ask_open_results);
  recent_ = file->addMenu("Open &recent");
  rebuild_recent();
  file->addSeparator();
  add(file, "&Export current view…", &MainWindow::ask_export, QKeySequence("Ctrl+E"));
  file->addSeparator();
  add(file, "&Quit", &QWidget::close, QKeySequence::Quit);
  auto* run = menuBar()->addMenu("&Run");
  add(run, "&Extract a store from a corpus…", &MainWindow::ask_extract);
  add(run, "Fit &AST-Probes on the store…", &MainWindow::ask_ast_sweep);
  add(run, "&Intrinsic dimension by layer…", &MainWindow::ask_id_sweep);
  add(run, "&Cancel", &MainWindow::cancelTask);
  auto* view = menuBar()->addMenu("&View");
  add(view, "Zoom &in", [zoom] { zoom(1.5); }, QKeySequence::ZoomIn);
  add(view, "Zoom &out", [zoom] { zoom(1 / 1.5); }, QKeySequence::ZoomOut);
}

QStringList MainWindow::recentFiles() const {
  return QSettings("probescope", "probescope-gui").value("recent").toStringList();
}

void MainWindow::remember(const QString& kind, const QString& path) {
  QStringList list = recentFiles();
  const QString entry = kind + ":" + QFileInfo(path).absoluteFilePath();
  list.removeAll(entry);
  list.prepend(entry);
  while (list.size() > 10) list.removeLast();
  QSettings("probescope", "probescope-gui").setValue("recent", list);
  rebuild_recent();
}

void MainWindow::rebuild_recent() {
  if (!recent_) return;
  recent_->clear();
  for (const QString& e : recentFiles()) {
    const QString kind = e.section(':', 0, 0), path = e.section(':', 1);
    connect(recent_->addAction(kind + ": " + path), &QAction::triggered, this, [this, kind, path] {
      if (kind == "model") openModel(path);
      else if (kind == "store") openStore(path);
      else openResults(path);
    });
  }
  recent_->setEnabled(!recent_->isEmpty());
}

void MainWindow::report(const QString& what, const QString& reason) {
  last_error_ = reason;
  status_->setText(what + ": " + reason);
  if (dialogs_) QMessageBox::warning(this, what, reason);
}

void MainWindow::refresh() {
  explorer_->reload();  // first: it fits the selection to the store
  curves_->reload();
  snippet_->reload();
  scratchpad_->reload();
  if (session_.live_model() && compare_->model(0) != session_.live_model()) compare_->setModel(0, session_.live_model());
  compare_->setProbeSession(0, &session_);  // results opened: the next run picks their probes
  update_title();
}

void MainWindow::update_title() {
  QString t = "Probescope";
  if (session_.has_model()) t += " — " + QFileInfo(QString::fromStdString(session_.model().dir)).fileName();
  if (session_.has_store()) t += " — " + QFileInfo(QString::fromStdString(session_.store()->path())).fileName();
  setWindowTitle(t);
}

FigureView* MainWindow::currentView() const {
  if (pages_->currentIndex() == 2) return scratchpad_->panels()->currentView();
  return pages_->currentIndex() == 0 ? explorer_->currentView() : curves_->currentView();
}

void MainWindow::showPage(int index) { pages_->setCurrentIndex(index); }

}  // namespace ps::gui
