#include "app/gui/state_dump.h"

#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QPixmap>
#include <QPlainTextEdit>
#include <QShortcut>
#include <QSlider>
#include <QTabBar>
#include <QTabWidget>
#include <algorithm>
#include <memory>

#include "app/gui/compare_view.h"
#include "app/gui/live_panels.h"
#include "app/gui/main_window.h"
#include "app/gui/scratchpad.h"

namespace ps::gui {

namespace {

QJsonArray rect_in(const QWidget& window, const QWidget* w, QRect r = {}) {
  if (!w) return {};
  if (r.isNull()) r = w->rect();
  const QPoint p = w->mapTo(&window, r.topLeft());
  return {p.x(), p.y(), r.width(), r.height()};
}

// FNV-1a over the drawn pattern's floats: equal patterns, equal digests; a switched mask changes it.
QString pattern_digest(const live::LiveResult& r, int layer) {
  if (r.states.patterns.empty()) return {};
  const auto& p = r.states.patterns[size_t(std::clamp(layer, 1, int(r.states.patterns.size())) - 1)];
  quint64 h = 1469598103934665603ull;
  const auto* bytes = reinterpret_cast<const unsigned char*>(p.values.data());
  for (size_t i = 0; i < p.values.size() * sizeof(float); ++i) h = (h ^ bytes[i]) * 1099511628211ull;
  return QString::number(h, 16);
}

}  // namespace

QString dump_state(MainWindow& w, const QString& dir, int n) {
  QDir().mkpath(dir);
  Scratchpad* pad = w.scratchpad();
  QJsonObject o;
  o["n"] = n;
  o["page"] = w.pages()->tabText(w.pages()->currentIndex());
  o["busy"] = pad->busy() || w.compareView()->busy();
  o["text"] = pad->editor()->toPlainText();
  o["language"] = pad->language();
  o["mask"] = pad->maskBox()->currentText();
  o["layer"] = w.selection().layer();
  o["layer_min"] = pad->layerSlider()->minimum();
  o["layer_max"] = pad->layerSlider()->maximum();
  o["error"] = pad->errorLabel()->text();
  o["status"] = pad->statusLabel()->text();
  if (const auto* r = pad->panels()->result()) {
    QJsonObject a;
    a["text"] = QString::fromStdString(pad->analysedCode());
    a["subwords"] = qint64(r->tokens.ids.size());
    a["words"] = qint64(r->tokens.words.size());
    a["mask"] = QString::fromStdString(r->states.mask);
    a["attention_digest"] = pattern_digest(*r, w.selection().layer());
    a["probe"] = r->probe.has_value();
    o["analysis"] = a;
  }
  QJsonObject g;
  QTabBar* bar = w.pages()->tabBar();
  for (int i = 0; i < bar->count(); ++i) g["tab " + bar->tabText(i)] = rect_in(w, bar, bar->tabRect(i));
  g["editor"] = rect_in(w, pad->editor()->viewport());
  g["layer_slider"] = rect_in(w, pad->layerSlider());
  g["mask_box"] = rect_in(w, pad->maskBox()->lineEdit() ? static_cast<QWidget*>(pad->maskBox()->lineEdit()) : pad->maskBox());
  o["geometry"] = g;

  const QString base = dir + QString("/state-%1").arg(n);
  if (!w.grab().save(base + ".png", "PNG")) return {};
  // Written beside and renamed, so a poller never reads half a file.
  QFile f(base + ".json.part");
  if (!f.open(QIODevice::WriteOnly) || f.write(QJsonDocument(o).toJson()) < 0) return {};
  f.close();
  QFile::remove(base + ".json");
  return QFile::rename(base + ".json.part", base + ".json") ? base + ".json" : QString();
}

void install_state_dump(MainWindow& w, const QString& dir) {
  auto* key = new QShortcut(QKeySequence(Qt::Key_F12), &w);
  key->setContext(Qt::ApplicationShortcut);
  auto n = std::make_shared<int>(0);
  QObject::connect(key, &QShortcut::activated, &w, [&w, dir, n] { dump_state(w, dir, ++*n); });
}

}  // namespace ps::gui
