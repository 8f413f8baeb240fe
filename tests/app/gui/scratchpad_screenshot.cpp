// Renders the main window's scratchpad offscreen to a PNG (the README's screenshot), on a real model:
//   scratchpad_screenshot --model DIR [--results RESULTS.csv] --file SNIPPET [--language python] [--layer L]
//                         [--head H] [--tab 0|1|2] [--size 1600x1000] --out OUT.png
#include <QApplication>
#include <QEventLoop>
#include <QPixmap>
#include <QTabWidget>
#include <cstdio>
#include <map>
#include <string>

#include "app/gui/live_panels.h"
#include "app/gui/main_window.h"
#include "app/gui/scratchpad.h"
#include "models/util/files.h"

int main(int argc, char** argv) {
  std::map<std::string, std::string> o = {{"--size", "1600x1000"}, {"--layer", "2"}, {"--head", "-1"},
                                          {"--tab", "0"}, {"--language", "python"}};
  for (int i = 1; i + 1 < argc; i += 2) o[argv[i]] = argv[i + 1];
  if (!o.count("--model") || !o.count("--file") || !o.count("--out")) {
    std::fprintf(stderr, "usage: scratchpad_screenshot --model DIR [--results CSV] --file SNIPPET --out OUT.png\n");
    return 2;
  }
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  QApplication app(argc, argv);
  ps::gui::MainWindow w;
  w.setDialogsEnabled(false);
  w.setThreads(2);
  const auto wh = QString::fromStdString(o["--size"]).split('x');
  w.resize(wh.value(0).toInt(), wh.value(1).toInt());
  if (!w.openModel(QString::fromStdString(o["--model"]))) {
    std::fprintf(stderr, "scratchpad_screenshot: %s\n", qPrintable(w.lastError()));
    return 1;
  }
  if (o.count("--results") && !w.openResults(QString::fromStdString(o["--results"]))) {
    std::fprintf(stderr, "scratchpad_screenshot: %s\n", qPrintable(w.lastError()));
    return 1;
  }
  w.selection().setLayer(std::stoi(o["--layer"]));
  w.selection().setHead(std::stoi(o["--head"]));
  w.showPage(2);
  auto* pad = w.scratchpad();
  pad->setLanguage(QString::fromStdString(o["--language"]));
  pad->panels()->tabs()->setCurrentIndex(std::stoi(o["--tab"]));
  QEventLoop loop;
  QObject::connect(&pad->runner(), &ps::gui::LiveRunner::finished, &loop, [&] { loop.quit(); });
  QObject::connect(&pad->runner(), &ps::gui::LiveRunner::failed, &loop, [&](qint64, const QString& m) {
    std::fprintf(stderr, "scratchpad_screenshot: %s\n", qPrintable(m));
    loop.quit();
  });
  pad->setCode(QString::fromStdString(ps::read_file(o["--file"])));
  loop.exec();
  w.show();
  QApplication::processEvents();
  if (!w.grab().save(QString::fromStdString(o["--out"]), "PNG")) {
    std::fprintf(stderr, "scratchpad_screenshot: cannot write %s\n", o["--out"].c_str());
    return 1;
  }
  std::printf("%s\n", o["--out"].c_str());
  return 0;
}
