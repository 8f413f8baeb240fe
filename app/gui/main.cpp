// probescope-gui: the desktop face over the same library calls as the CLI.
//   probescope-gui [--model DIR] [--store FILE.h5] [--results CSV]... [--snippet N] [--layer L] [--head H]
//                  [--word W] [--page explorer|curves|scratchpad|compare]
//                  [--view trees|attention|mask|f1-layer|f1-k|id|scratchpad|compare]
//                  [--snippet-file F [--language L]] [--mask SPEC] [--rope-scaling SPEC]
//                  [--compare-model DIR [--mask-b SPEC] [--rope-scaling-b SPEC] [--results-b CSV]] [--position P]
//                  [--panel trees|distances|attention] [--state-dir DIR] [--screenshot OUT.png [--size 1400x860]]
// --screenshot opens the files, waits until the scratchpad and compare views have analysed their snippet,
// renders the window with QWidget::grab, saves the PNG and exits (0 when written; 1 with the reason on stderr
// otherwise). --state-dir makes F12 write the window's state and a screenshot there (app/gui/state_dump.h).
#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QFile>
#include <QImage>
#include <QPixmap>
#include <QTabWidget>
#include <QThread>
#include <cstdio>

#include "app/gui/compare_side.h"
#include "app/gui/compare_view.h"
#include "app/gui/curves.h"
#include "app/gui/explorer.h"
#include "app/gui/live_panels.h"
#include "app/gui/main_window.h"
#include "app/gui/scratchpad.h"
#include "app/gui/snippet_view.h"
#include "app/gui/state_dump.h"
#include "data/store/reader.h"
#include "models/util/blas_kernel.h"

int main(int argc, char** argv) {
  ps::reexec_with_better_blas_kernel(argv);  // before anything else: the process may start again
  QApplication app(argc, argv);
  QApplication::setApplicationName("probescope-gui");
  QApplication::setOrganizationName("probescope");
  QCommandLineParser cli;
  cli.setApplicationDescription("Probescope desktop app: snippets, layer explorer, curves, scratchpad, compare, export.");
  cli.addHelpOption();
  QCommandLineOption model("model", "HF model directory.", "DIR"), store("store", "Activation store (.h5).", "FILE"),
      results("results", "results.csv or id.csv (repeatable).", "CSV"), snippet("snippet", "Snippet index.", "N"),
      layer("layer", "Layer for the explorer.", "L"), word("word", "Show word W of the snippet (as a click).", "W"),
      head("head", "Attention head (-1 = mean of heads).", "H"),
      page("page", "explorer, curves, scratchpad or compare.", "PAGE"),
      view("view", "trees, attention, mask, f1-layer, f1-k, id, scratchpad or compare.", "VIEW"),
      snippet_file("snippet-file", "Put this file's text in the scratchpad (and the Compare page).", "FILE"),
      language("language", "Scratchpad language: python, javascript, go, java or cpp.", "LANG"),
      mask("mask", "Forward mask of the scratchpad and Compare side A: default, lm-infinite:G:L[:LIMIT|none], window:W.",
           "SPEC"),
      rope("rope-scaling", "RoPE scaling of Compare side A (e.g. yarn:4, linear:2).", "SPEC"),
      compare_model("compare-model", "Model B of the Compare page (a checkpoint, an intervened model).", "DIR"),
      mask_b("mask-b", "Forward mask of Compare side B.", "SPEC"),
      rope_b("rope-scaling-b", "RoPE scaling of Compare side B.", "SPEC"),
      results_b("results-b", "Compare side B's own probe sweep results.csv (default: side A's probes).", "CSV"),
      position("position", "Compare, encoders: the masked position of the fillers.", "P"),
      panel("panel", "Scratchpad and Compare panel shown: trees, distances or attention.", "PANEL"),
      state_dir("state-dir", "F12 writes DIR/state-N.json and DIR/state-N.png (scripted sessions).", "DIR"),
      shot("screenshot", "Render the window to this PNG and exit.", "OUT.png"),
      size("size", "Window size for --screenshot (WxH).", "WxH", "1400x860"),
      threads("threads", "LibTorch threads (0 = all).", "N", "0");
  cli.addOptions({model, store, results, snippet, layer, word, head, page, view, snippet_file, language, mask, rope,
                  compare_model, mask_b, rope_b, results_b, position, panel, state_dir, shot, size, threads});
  cli.process(app);

  ps::gui::MainWindow w;
  const bool screenshot = cli.isSet(shot);
  w.setDialogsEnabled(!screenshot);
  w.setThreads(cli.value(threads).toInt());
  bool ok = true;
  auto fail = [&](const QString& reason) {
    ok = false;
    std::fprintf(stderr, "probescope-gui: %s\n", qPrintable(reason));
  };
  if (cli.isSet(model) && !w.openModel(cli.value(model))) fail(w.lastError());
  if (cli.isSet(store) && !w.openStore(cli.value(store))) fail(w.lastError());
  for (const QString& r : cli.values(results))
    if (!w.openResults(r)) fail(w.lastError());
  if (cli.isSet(snippet)) w.selection().setSnippet(cli.value(snippet).toLongLong());
  if (cli.isSet(layer)) w.selection().setLayer(cli.value(layer).toInt());
  if (cli.isSet(head)) w.selection().setHead(cli.value(head).toInt());
  if (cli.isSet(word) && w.session().has_store()) {
    const auto spans = w.session().store()->words(w.selection().snippet()).spans;
    const auto i = size_t(cli.value(word).toLongLong());
    if (i < spans.size()) w.snippetView()->showPosition(w.snippetView()->charPosition(spans[i].begin));
  }
  const QString v = cli.value(view), pg = cli.value(page);
  if (v == "attention") w.explorer()->setTab(1);
  if (v == "mask") w.explorer()->setTab(2);
  if (v == "f1-layer" || v == "f1-k" || v == "id") {
    w.showPage(1);
    w.curves()->setTab(v == "f1-layer" ? 0 : v == "f1-k" ? 1 : 2);
  }
  if (pg == "curves") w.showPage(1);
  // The Compare page is fed the scratchpad's text only while shown, so it is shown before the text is set.
  if (pg == "scratchpad" || v == "scratchpad") w.showPage(2);
  if (pg == "compare" || v == "compare") w.showPage(3);

  ps::gui::Scratchpad* pad = w.scratchpad();
  ps::gui::CompareView* cmp = w.compareView();
  if (cli.isSet(position)) cmp->setMaskedPosition(cli.value(position).toInt());
  if (cli.isSet(mask)) {
    pad->setMask(cli.value(mask));
    if (!cmp->setMask(0, cli.value(mask))) fail("--mask: " + cmp->lastError());
  }
  if (cli.isSet(rope) && !cmp->setRopeScaling(0, cli.value(rope))) fail("--rope-scaling: " + cmp->lastError());
  if (cli.isSet(results_b) && !cmp->setResults(1, cli.value(results_b))) fail("--results-b: " + cmp->lastError());
  bool loading_b = false;
  if (cli.isSet(compare_model)) {
    // Loads on the loader thread like the page's button; B's settings need its weights, so they follow the load.
    QObject::connect(cmp, &ps::gui::CompareView::modelLoaded, cmp, [&](int side, bool loaded, const QString& msg) {
      if (side != 1) return;
      loading_b = false;
      if (!loaded) return fail(cli.value(compare_model) + ": " + msg);
      cmp->setCompare(true);
      if (cli.isSet(mask_b) && !cmp->setMask(1, cli.value(mask_b))) fail("--mask-b: " + cmp->lastError());
      if (cli.isSet(rope_b) && !cmp->setRopeScaling(1, cli.value(rope_b))) fail("--rope-scaling-b: " + cmp->lastError());
    });
    loading_b = cmp->loadModel(1, cli.value(compare_model), cli.value(threads).toInt());
    if (!loading_b) fail(cli.value(compare_model) + ": " + cmp->lastError());
  }
  if (cli.isSet(language)) {
    const QStringList known = {"python", "javascript", "go", "java", "cpp"};
    if (!known.contains(cli.value(language))) fail("--language: unknown language " + cli.value(language) + " (" + known.join(", ") + ")");
    else pad->setLanguage(cli.value(language));
  }
  if (cli.isSet(snippet_file)) {
    QFile f(cli.value(snippet_file));
    if (!f.open(QIODevice::ReadOnly)) fail(cli.value(snippet_file) + ": cannot read (" + f.errorString() + ")");
    else pad->setCode(QString::fromUtf8(f.readAll()));
  }
  if (cli.isSet(panel)) {
    const QString p = cli.value(panel);
    const int pad_tab = p == "trees" ? 0 : p == "distances" ? 1 : p == "attention" ? 2 : -1;
    if (pad_tab < 0) fail("--panel: unknown panel " + p + " (trees, distances, attention)");
    else {
      pad->panels()->tabs()->setCurrentIndex(pad_tab);
      cmp->side(0)->tabs()->setCurrentIndex((pad_tab + 1) % 3);  // the compare sides list attention first
    }
  }
  if (cli.isSet(state_dir)) ps::gui::install_state_dump(w, cli.value(state_dir));

  if (screenshot) {
    const QStringList wh = cli.value(size).split('x');
    w.resize(wh.value(0).toInt() > 0 ? wh.value(0).toInt() : 1400, wh.value(1).toInt() > 0 ? wh.value(1).toInt() : 860);
    w.show();
    // The live views analyse on worker threads: wait (bounded) for model B and every pending run.
    QElapsedTimer t;
    t.start();
    while ((loading_b || pad->busy() || cmp->busy()) && t.elapsed() < 600000) {
      QApplication::processEvents(QEventLoop::AllEvents, 50);
      QThread::msleep(5);
    }
    if (loading_b || pad->busy() || cmp->busy()) fail("the live views were still busy after 600 s");
    QApplication::processEvents();
    const QImage img = w.grab().toImage();
    if (img.isNull() || !img.save(cli.value(shot), "PNG")) {
      std::fprintf(stderr, "probescope-gui: cannot write %s\n", qPrintable(cli.value(shot)));
      return 1;
    }
    std::printf("%s\n", qPrintable(cli.value(shot)));
    return ok ? 0 : 1;
  }
  w.show();
  if (cli.isSet(state_dir)) w.activateWindow();  // a scripted session's keys reach the window without a window manager
  return app.exec();
}
