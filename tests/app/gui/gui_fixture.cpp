#include "tests/app/gui/gui_fixture.h"

#include <QApplication>
#include <QStandardPaths>
#include <filesystem>

#include "data/extract/extract.h"
#include "probes/sweep.h"
#include "tests/data/extract/extract_fixture.h"

namespace ps::gui::testing {

std::string temp_dir(const std::string& tag) { return ps::extract::testing::temp_dir("gui_" + tag); }

void ensure_app() {
  if (QApplication::instance()) return;
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  QStandardPaths::setTestModeEnabled(true);  // QSettings (recent files) away from the user's own
  static int argc = 1;
  static char name[] = "gui_tests";
  static char* argv[] = {name, nullptr};
  new QApplication(argc, argv);  // lives for the process
}

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture x;
    x.dir = temp_dir("fixture");
    x.model = ps::extract::testing::tiny_model_dir();
    x.corpus = ps::extract::testing::write_corpus(x.dir, 40);
    x.store = x.dir + "/tiny.h5";
    auto o = ps::extract::testing::tiny_options(x.model, x.corpus, x.store);
    o.layers = "all";
    o.attention_layers = "all";
    ps::extract::extract(o);
    ps::probes::SweepOptions s;
    s.kind = ps::probes::ProbeKind::ast;
    s.stores = {x.store};
    s.out_dir = x.dir + "/ast";
    s.ks = {4, 8};
    s.epochs = 3;
    s.steps_per_epoch = 0;
    s.lr = 1e-2;
    s.threads = 1;
    s.split.train = 0.6, s.split.valid = 0.2, s.split.test = 0.2;
    x.results_csv = ps::probes::run_probe_sweep(s).results_csv;
    return x;
  }();
  return f;
}

}  // namespace ps::gui::testing
