#pragma once
// Tiny studies for the study tests: a tiny GPT-2 with a byte-level BPE tokenizer and a corpus of generated
// Python functions (tests/data/extract's fixture), and a study file over them that the test edits.
#include <string>

#include "app/study/plan.h"

namespace ps::study::testing {

struct TinyStudy {
  std::string dir;     // the test's scratch directory
  std::string model, corpus;
  std::string file;    // the study TOML
  std::string out;     // the study directory
};

// `body` is appended to a study with one model ("trained"), its random-weights variant ("random") and one corpus
// ("python", 40 functions); {model} and {corpus} in body are replaced by their paths.
TinyStudy write_tiny_study(const std::string& tag, const std::string& body);
// Rewrites the study file with another body (same model and corpus).
void rewrite_study(const TinyStudy& s, const std::string& body);
// A probe block (AST-Probe, 2 epochs x 4 steps) with these extra lines.
std::string probe_block(const std::string& name, const std::string& extra);
// Plans the study as `probescope study run` would (the built executable in every task's argv).
Plan plan_of(const TinyStudy& s);
// The built probescope executable.
std::string probescope();

}  // namespace ps::study::testing
