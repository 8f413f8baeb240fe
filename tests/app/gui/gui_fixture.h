#pragma once
// Built once per test process: a tiny GPT-2-layout model, a store extracted from generated Python
// (every layer pooled per word, attention of every block), AST-Probes fitted on it (results.csv), and a
// QApplication on the offscreen platform.
#include <string>

namespace ps::gui::testing {

struct Fixture {
  std::string dir, model, corpus, store, results_csv;
};
const Fixture& fixture();
// A fresh directory for one test.
std::string temp_dir(const std::string& tag);
// Creates the QApplication (offscreen unless QT_QPA_PLATFORM is set) once.
void ensure_app();

}  // namespace ps::gui::testing
