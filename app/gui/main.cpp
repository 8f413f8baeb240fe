// probescope-gui: the desktop face over the same library calls as the CLI.
//   probescope-gui [--model DIR] [--store FILE.h5] [--results CSV]... [--snippet N] [--layer L]
//                  [--word W] [--page explorer|curves] [--view trees|attention|mask|f1-layer|f1-k|id]
//                  [--screenshot OUT.png [--size 1400x860]]
// --screenshot opens the files, renders the window offscreen-safe with QWidget::grab, saves the PNG and
// exits (0 when written; 1 with the reason on stderr otherwise).
#include <QApplication>
#include <QCommandLineParser>
#include <QImage>
#include <QPixmap>
#include <QTimer>
#include <cstdio>

#include "app/gui/curves.h"
#include "app/gui/explorer.h"
#include "app/gui/main_window.h"
#include "app/gui/snippet_view.h"
#include "data/store/reader.h"
#include "models/util/blas_kernel.h"

int main(int argc, char** argv) {
  ps::reexec_with_better_blas_kernel(argv);  // before anything else: the process may start again
  QApplication app(argc, argv);
  QApplication::setApplicationName("probescope-gui");
  QApplication::setOrganizationName("probescope");
  QCommandLineParser cli;
  cli.setApplicationDescription("Probescope desktop app: snippets, layer explorer, curves, export.");
  cli.addHelpOption();
  QCommandLineOption model("model", "HF model directory.", "DIR"), store("store", "Activation store (.h5).", "FILE"),
      results("results", "results.csv or id.csv (repeatable).", "CSV"), snippet("snippet", "Snippet index.", "N"),
      layer("layer", "Layer for the explorer.", "L"), word("word", "Show word W of the snippet (as a click).", "W"),
      page("page", "explorer or curves.", "PAGE"),
      view("view", "trees, attention, mask, f1-layer, f1-k or id.", "VIEW"),
      shot("screenshot", "Render the window to this PNG and exit.", "OUT.png"),
      size("size", "Window size for --screenshot (WxH).", "WxH", "1400x860"),
      threads("threads", "LibTorch threads (0 = all).", "N", "0");
  cli.addOptions({model, store, results, snippet, layer, word, page, view, shot, size, threads});
  cli.process(app);

  ps::gui::MainWindow w;
  const bool screenshot = cli.isSet(shot);
  w.setDialogsEnabled(!screenshot);
  w.setThreads(cli.value(threads).toInt());
  bool ok = true;
  if (cli.isSet(model)) ok &= w.openModel(cli.value(model));
  if (cli.isSet(store)) ok &= w.openStore(cli.value(store));
  for (const QString& r : cli.values(results)) ok &= w.openResults(r);
  if (cli.isSet(snippet)) w.selection().setSnippet(cli.value(snippet).toLongLong());
  if (cli.isSet(layer)) w.selection().setLayer(cli.value(layer).toInt());
  if (cli.isSet(word) && w.session().has_store()) {
    const auto spans = w.session().store()->words(w.selection().snippet()).spans;
    const auto i = size_t(cli.value(word).toLongLong());
    if (i < spans.size()) w.snippetView()->showPosition(w.snippetView()->charPosition(spans[i].begin));
  }
  const QString v = cli.value(view);
  if (v == "attention") w.explorer()->setTab(1);
  if (v == "mask") w.explorer()->setTab(2);
  if (v == "f1-layer" || v == "f1-k" || v == "id") {
    w.showPage(1);
    w.curves()->setTab(v == "f1-layer" ? 0 : v == "f1-k" ? 1 : 2);
  }
  if (cli.value(page) == "curves") w.showPage(1);

  if (screenshot) {
    const QStringList wh = cli.value(size).split('x');
    w.resize(wh.value(0).toInt() > 0 ? wh.value(0).toInt() : 1400, wh.value(1).toInt() > 0 ? wh.value(1).toInt() : 860);
    w.show();
    QApplication::processEvents();
    const QImage img = w.grab().toImage();
    if (!ok) std::fprintf(stderr, "probescope-gui: %s\n", qPrintable(w.lastError()));
    if (img.isNull() || !img.save(cli.value(shot), "PNG")) {
      std::fprintf(stderr, "probescope-gui: cannot write %s\n", qPrintable(cli.value(shot)));
      return 1;
    }
    std::printf("%s\n", qPrintable(cli.value(shot)));
    return ok ? 0 : 1;
  }
  w.show();
  return app.exec();
}
