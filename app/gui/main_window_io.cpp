// MainWindow: opening files, exporting views and starting background tasks. Every library error is
// caught here and reported with its one-line reason; the window keeps what it had open.
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QLabel>
#include <QPushButton>
#include <QLineEdit>

#include "app/gui/curves.h"
#include "app/gui/explorer.h"
#include "app/gui/figure_view.h"
#include "app/gui/main_window.h"
#include "app/render/render.h"
#include "data/store/reader.h"

namespace ps::gui {

namespace {
std::string s8(const QString& s) { return s.toStdString(); }
}  // namespace

bool MainWindow::openModel(const QString& dir) {
  if (runner_.busy()) {  // the running job may be using the current Engine
    report("Cannot load the model", "a background task is running; cancel it first");
    return false;
  }
  try {
    session_.open_model(s8(dir), threads_);
  } catch (const std::exception& e) {
    report("Cannot load the model", e.what());
    return false;
  }
  remember("model", dir);
  refresh();
  status_->setText(QString("model %1: %2 layers, %3 heads, d %4")
                       .arg(QString::fromStdString(session_.model().model_type))
                       .arg(session_.model().layers)
                       .arg(session_.model().heads)
                       .arg(session_.model().d_model));
  return true;
}

bool MainWindow::startOpenModel(const QString& dir) {
  // The Engine being replaced may be in use by the running job; a live analysis holds its own reference.
  auto loaded = std::make_shared<std::optional<live::LiveModel>>();
  const std::string d = s8(dir);
  const int threads = threads_;
  const bool ok = runner_.start(
      "Loading model " + dir,
      [loaded, d, threads](TaskContext&) {
        loaded->emplace(Session::load_model(d, threads));
        return "model " + loaded->value().model_type + ": " + std::to_string(loaded->value().layers) + " layers, " +
               std::to_string(loaded->value().heads) + " heads, d " + std::to_string(loaded->value().d_model);
      },
      [this, loaded, dir] {
        session_.adopt_model(std::move(loaded->value()));
        remember("model", dir);
        refresh();
      });
  if (!ok) report("Cannot load the model", "a background task is running; cancel it first");
  return ok;
}

bool MainWindow::openStore(const QString& path) {
  try {
    session_.open_store(s8(path));
  } catch (const std::exception& e) {
    report("Cannot open the store", e.what());
    return false;
  }
  remember("store", path);
  refresh();
  status_->setText(QString("store %1: %2 snippets, layers %3")
                       .arg(path)
                       .arg(session_.store()->num_samples())
                       .arg(session_.layers().empty() ? QString("none") : QString("%1–%2").arg(session_.layers().front()).arg(session_.layers().back())));
  return true;
}

bool MainWindow::openResults(const QString& csv) {
  try {
    const auto kind = session_.add_results(s8(csv));
    remember("results", csv);
    refresh();
    curves_->setTab(kind == "id" ? 2 : 0);
    status_->setText("loaded " + QString::fromStdString(kind) + " results " + csv);
    return true;
  } catch (const std::exception& e) {
    report("Cannot read the results", e.what());
    return false;
  }
}

QStringList MainWindow::exportView(const QString& path, const QString& formats, FigureView* view) {
  if (!view) view = currentView();
  if (!view || !view->figure()) {
    report("Nothing to export", view ? view->placeholder() : "no view");
    return {};
  }
  try {
    render::SaveOptions o;
    o.formats = render::parse_formats(s8(formats));
    // Line plots at one column, matrices and trees at two: the sizes `probescope plot` defaults to.
    o.width_in = std::holds_alternative<plot::LinePlot>(*view->figure()) ? plot::kOneColumnInches : plot::kTwoColumnInches;
    QStringList out;
    for (const auto& p : render::save_figure(*view->figure(), s8(path), o)) out << QString::fromStdString(p);
    status_->setText("exported " + out.join(", "));
    return out;
  } catch (const std::exception& e) {
    report("Export failed", e.what());
    return {};
  }
}

bool MainWindow::startExtract(const ExtractJob& job) {
  if (!session_.has_model()) {
    report("Cannot extract", "open a model directory first");
    return false;
  }
  const QString out = QString::fromStdString(job.out);
  return runner_.start(
      "Extracting " + QFileInfo(out).fileName(), [this, job](TaskContext& ctx) { return run_extract(session_, job, ctx); },
      [this, out] { openStore(out); });
}

bool MainWindow::start_store_job(const QString& label, StoreJob job) {
  if (!session_.has_store()) {
    report("Cannot run", "open an activation store first");
    return false;
  }
  auto csv = std::make_shared<std::string>();
  const std::string store = session_.store()->path();
  return runner_.start(
      label, [store, csv, job](TaskContext& ctx) { return job(store, ctx, csv.get()); },
      [this, csv] {
        if (!csv->empty()) openResults(QString::fromStdString(*csv));
      });
}

bool MainWindow::startIdSweep(const QString& out_dir, qint64 max_points, int ci_reps) {
  return start_store_job("Intrinsic dimension", [dir = s8(out_dir), max_points, ci_reps](
                                                    const std::string& store, TaskContext& ctx, std::string* csv) {
    return run_id_sweep(store, dir, max_points, ci_reps, ctx, csv);
  });
}

bool MainWindow::startAstSweep(const QString& out_dir, const QString& ks, int epochs) {
  return start_store_job("Fitting AST-Probes", [dir = s8(out_dir), k = s8(ks), epochs](
                                                   const std::string& store, TaskContext& ctx, std::string* csv) {
    return run_ast_sweep(store, dir, k, epochs, ctx, csv);
  });
}

void MainWindow::cancelTask() {
  runner_.cancel();
  cancel_->setEnabled(false);
  status_->setText("cancelling at the next step boundary…");
}

void MainWindow::ask_open_model() {
  const QString d = QFileDialog::getExistingDirectory(this, "Model directory (config.json, model.safetensors, tokenizer.json)");
  if (!d.isEmpty()) startOpenModel(d);
}

void MainWindow::ask_open_store() {
  const QString f = QFileDialog::getOpenFileName(this, "Activation store", {}, "HDF5 stores (*.h5 *.hdf5);;All files (*)");
  if (!f.isEmpty()) openStore(f);
}

void MainWindow::ask_open_results() {
  for (const QString& f : QFileDialog::getOpenFileNames(this, "Results", {}, "CSV (*.csv)")) openResults(f);
}

void MainWindow::ask_export() {
  const QString f = QFileDialog::getSaveFileName(this, "Export view (writes .pdf, .svg, .png, .csv, .json)", "figure",
                                                 "PDF + SVG + PNG (*.pdf);;PDF (*.pdf);;SVG (*.svg);;PNG (*.png)");
  if (f.isEmpty()) return;
  const QFileInfo fi(f);
  const QString ext = fi.suffix().toLower();
  const QString base = fi.dir().filePath(fi.completeBaseName());
  exportView(base, ext == "svg" || ext == "png" ? ext : "pdf,svg,png");  // .pdf or none: all three
}

void MainWindow::ask_extract() {
  const QString corpus = QFileDialog::getOpenFileName(this, "Corpus JSONL", {}, "JSONL (*.jsonl);;All files (*)");
  if (corpus.isEmpty()) return;
  const QString out = QFileDialog::getSaveFileName(this, "New store", "store.h5", "HDF5 (*.h5)");
  if (out.isEmpty()) return;
  bool ok = false;
  const int limit = QInputDialog::getInt(this, "Extract", "Snippets (0 = all):", 200, 0, 1 << 30, 1, &ok);
  if (!ok) return;
  ExtractJob job;
  job.corpus = s8(corpus);
  job.out = s8(out);
  job.limit = limit;
  startExtract(job);
}

void MainWindow::ask_id_sweep() {
  const QString d = QFileDialog::getExistingDirectory(this, "Output directory for id.csv");
  if (!d.isEmpty()) startIdSweep(d);
}

void MainWindow::ask_ast_sweep() {
  const QString d = QFileDialog::getExistingDirectory(this, "Output directory (results.csv, probes/)");
  if (d.isEmpty()) return;
  bool ok = false;
  const QString ks = QInputDialog::getText(this, "AST-Probe", "k (comma-separated):", QLineEdit::Normal, "8,32,128", &ok);
  if (ok) startAstSweep(d, ks);
}

}  // namespace ps::gui
