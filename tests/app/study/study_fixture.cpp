#include "tests/app/study/study_fixture.h"

#include <filesystem>

#include "app/study/expand.h"
#include "app/study/schema.h"
#include "models/util/files.h"
#include "tests/common/scratch.h"
#include "tests/data/extract/extract_fixture.h"

namespace ps::study::testing {

namespace {
std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size()) s.replace(at, from.size(), to);
  return s;
}
}  // namespace

std::string probescope() { return ps::extract::testing::probescope_path(); }

void rewrite_study(const TinyStudy& s, const std::string& body) {
  const std::string head = "[study]\nname = \"tiny\"\n\n"
                           "[[model]]\nname = \"trained\"\npath = \"{model}\"\n\n"
                           "[[model]]\nname = \"random\"\npath = \"{model}\"\nrandom_weights = 1\n\n"
                           "[[corpus]]\nlanguage = \"python\"\npath = \"{corpus}\"\nsplits = \"\"\n\n"
                           "[extract]\ndtype = \"float32\"\nstore_dtype = \"float32\"\ntoken_budget = 512\n\n";
  write_file_atomic(s.file, replace_all(replace_all(head + body, "{model}", s.model), "{corpus}", s.corpus));
}

TinyStudy write_tiny_study(const std::string& tag, const std::string& body) {
  TinyStudy s;
  s.dir = ps::test::scratch_dir(tag).string();
  s.model = ps::extract::testing::tiny_model_dir();
  s.corpus = ps::extract::testing::write_corpus(s.dir, 40);
  s.file = s.dir + "/study.toml";
  s.out = s.dir + "/out";
  rewrite_study(s, body);
  return s;
}

std::string probe_block(const std::string& name, const std::string& extra) {
  return "[[probe]]\nname = \"" + name + "\"\nepochs = 2\nsteps_per_epoch = 4\nsplit = \"0.6,0.2,0.2\"\n" + extra + "\n\n";
}

Plan plan_of(const TinyStudy& s) {
  Plan p = expand_study(load_study(s.file), s.out, probescope());
  write_plan(p);
  return p;
}

}  // namespace ps::study::testing
