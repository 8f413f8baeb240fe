// Renders the live compare view offscreen to a PNG (the README's screenshots), on real models:
//   compare_screenshot --a DIR [--b DIR] [--mask-a M] [--mask-b M] [--rope-b SPEC] --file SNIPPET.py
//                      [--layer L] [--head H] [--position P] [--size 1600x1000] --out OUT.png
#include <QApplication>
#include <QEventLoop>
#include <QPixmap>
#include <cstdio>
#include <map>
#include <string>

#include "app/gui/compare_view.h"
#include "models/util/files.h"

int main(int argc, char** argv) {
  std::map<std::string, std::string> o = {{"--size", "1600x1000"}, {"--layer", "2"}, {"--head", "-1"}, {"--position", "3"}};
  for (int i = 1; i + 1 < argc; i += 2) o[argv[i]] = argv[i + 1];
  if (!o.count("--a") || !o.count("--file") || !o.count("--out")) {
    std::fprintf(stderr, "usage: compare_screenshot --a DIR [--b DIR] --file SNIPPET --out OUT.png\n");
    return 2;
  }
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  QApplication app(argc, argv);
  ps::gui::Selection sel;
  sel.setLayer(std::stoi(o["--layer"]));
  sel.setHead(std::stoi(o["--head"]));
  ps::gui::CompareView view(sel);
  const auto wh = QString::fromStdString(o["--size"]).split('x');
  view.resize(wh.value(0).toInt(), wh.value(1).toInt());
  auto load = [&](int side, const std::string& dir) {
    QEventLoop loop;
    bool ok = false;
    QObject::connect(&view, &ps::gui::CompareView::modelLoaded, &loop, [&](int, bool k, const QString& m) {
      ok = k;
      if (!k) std::fprintf(stderr, "compare_screenshot: %s\n", qPrintable(m));
      loop.quit();
    });
    view.loadModel(side, QString::fromStdString(dir), 2);
    loop.exec();
    return ok;
  };
  if (!load(0, o["--a"])) return 1;
  if (o.count("--b") && !load(1, o["--b"])) return 1;
  view.setMaskedPosition(std::stoi(o["--position"]));
  if (o.count("--mask-a") && !view.setMask(0, QString::fromStdString(o["--mask-a"]))) return 1;
  if (o.count("--b")) {
    view.setCompare(true);
    if (o.count("--mask-b") && !view.setMask(1, QString::fromStdString(o["--mask-b"]))) return 1;
    if (o.count("--rope-b") && !view.setRopeScaling(1, QString::fromStdString(o["--rope-b"]))) return 1;
  }
  QEventLoop loop;
  QObject::connect(&view, &ps::gui::CompareView::updated, &loop, [&] {
    if (!view.busy()) loop.quit();
  });
  view.setSnippet(QString::fromStdString(ps::read_file(o["--file"])), ps::syntax::Language::Python, 0);
  loop.exec();
  view.show();
  QApplication::processEvents();
  if (!view.grab().save(QString::fromStdString(o["--out"]), "PNG")) {
    std::fprintf(stderr, "compare_screenshot: cannot write %s\n", o["--out"].c_str());
    return 1;
  }
  std::printf("%s\n", o["--out"].c_str());
  return 0;
}
