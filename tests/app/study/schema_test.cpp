// Study files: every bad key is one line naming the file, the line and the key.
#include <gtest/gtest.h>

#include "app/study/schema.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "tests/app/study/study_fixture.h"

namespace ps::study {
namespace {

using namespace ps::study::testing;

// The InputError message load_study gives, or "" when it loads.
std::string error_of(const std::string& file) {
  try {
    load_study(file);
  } catch (const ps::InputError& e) {
    return e.what();
  }
  return "";
}

// 1-based line of the first line of `file` containing `text`.
int line_of(const std::string& file, const std::string& text) {
  const std::string all = ps::read_file(file);
  const auto at = all.find(text);
  return at == std::string::npos ? -1 : 1 + static_cast<int>(std::count(all.begin(), all.begin() + static_cast<long>(at), '\n'));
}

TEST(StudySchema, LoadsAValidStudy) {
  const auto s = write_tiny_study("schema_ok", probe_block("layers", "k = [4, 8]\nseeds = [1, 2]\ntasks = 2"));
  const Study st = load_study(s.file);
  ASSERT_EQ(st.models.size(), 2u);
  EXPECT_EQ(st.models[1].random_weights, 1);
  ASSERT_EQ(st.probes.size(), 1u);
  EXPECT_EQ(st.probes[0].k, (std::vector<int>{4, 8}));
  EXPECT_EQ(st.probes[0].tasks, 2);
  EXPECT_EQ(st.corpora[0].splits, "");
}

TEST(StudySchema, UnknownKeyNamesFileLineAndKey) {
  const auto s = write_tiny_study("schema_unknown", probe_block("layers", "kk = [8]"));
  const std::string e = error_of(s.file);
  EXPECT_EQ(e, s.file + ":" + std::to_string(line_of(s.file, "kk = ")) + ": probe[0].kk: unknown key") << e;
}

TEST(StudySchema, WrongTypesAndValuesNameTheKey) {
  auto s = write_tiny_study("schema_types", probe_block("layers", "k = \"eight\""));
  EXPECT_NE(error_of(s.file).find(":" + std::to_string(line_of(s.file, "k = ")) + ": probe[0].k: expected an integer or an array of integers"),
            std::string::npos) << error_of(s.file);
  rewrite_study(s, probe_block("layers", "normalize = \"zscore\""));
  EXPECT_NE(error_of(s.file).find("probe[0].normalize: 'zscore' is not one of none, scale, standardize"), std::string::npos)
      << error_of(s.file);
  rewrite_study(s, probe_block("layers", "tasks = 0"));
  EXPECT_NE(error_of(s.file).find("probe[0].tasks: 0 is out of range"), std::string::npos) << error_of(s.file);
  rewrite_study(s, probe_block("layers", "") + probe_block("k", "layers = \"best:nope\""));
  EXPECT_NE(error_of(s.file).find("probe[1].layers: 'best:nope': no earlier probe named 'nope'"), std::string::npos)
      << error_of(s.file);
  rewrite_study(s, probe_block("layers", "models = [\"ghost\"]"));
  EXPECT_NE(error_of(s.file).find("no model named 'ghost'"), std::string::npos) << error_of(s.file);
  rewrite_study(s, "[extract]\nshards = 2\n");  // a second [extract] table: a TOML error with its line
  EXPECT_NE(error_of(s.file).find(s.file + ":"), std::string::npos) << error_of(s.file);
  rewrite_study(s, probe_block("layers", ""));  // the corpus caps use extract --limit-per-split's grammar
  std::string study = ps::read_file(s.file);
  study.replace(study.find("splits = \"\"\n"), 12, "splits = \"\"\nlimit_per_split = \"train=x\"\n");
  ps::write_file_atomic(s.file, study);
  EXPECT_NE(error_of(s.file).find("corpus[0].limit_per_split: 'train=x': 'x' is not an integer"), std::string::npos)
      << error_of(s.file);
  rewrite_study(s, probe_block("layers", "summary = \"a/b\""));
  EXPECT_NE(error_of(s.file).find("probe[0].summary: 'a/b': letters, digits"), std::string::npos) << error_of(s.file);
  rewrite_study(s, probe_block("layers", "summary = \"python\""));  // would share collect's OUT/python
  EXPECT_NE(error_of(s.file).find("layers: summary: 'python' is the name of a corpus language"), std::string::npos)
      << error_of(s.file);
  rewrite_study(s, "[figure]\nname = \"x\"\n");
  EXPECT_NE(error_of(s.file).find(": figure: expected [[figure]] tables"), std::string::npos) << error_of(s.file);
  rewrite_study(s, "[[figure]]\nname = \"x\"\nargs = [\"--out\", \"y\"]\n");
  EXPECT_NE(error_of(s.file).find("figure[0].args: --out is set by the study"), std::string::npos) << error_of(s.file);
}

TEST(StudySchema, ModelAndCorpusPathsAreChecked) {
  const auto s = write_tiny_study("schema_paths", "");
  const std::string f = s.dir + "/bad.toml";
  ps::write_file_atomic(f, "[[model]]\nname = \"m\"\npath = \"" + s.dir + "\"\n[[corpus]]\nlanguage = \"python\"\npath = \"" +
                               s.corpus + "\"\n");
  EXPECT_EQ(error_of(f), f + ":3: model[0].path: " + s.dir + ": no config.json (not a model directory)");
  ps::write_file_atomic(f, "[[model]]\npath = \"" + s.model + "\"\n[[corpus]]\nlanguage = \"python\"\npath = \"missing.jsonl\"\n");
  EXPECT_EQ(error_of(f), f + ":5: corpus[0].path: " + s.dir + "/missing.jsonl: no such file");
  ps::write_file_atomic(f, "[[model]]\npath = \"" + s.model + "\"\n");
  EXPECT_NE(error_of(f).find("corpus: at least one [[corpus]] is required"), std::string::npos) << error_of(f);
}

// `study run|plan --set KEY=VALUE`: applied before validation, to every [[table]] or one, and checked like the
// file's own keys, with errors naming the --set instead of a line.
TEST(StudySchema, SetOverridesAreAppliedBeforeValidation) {
  const auto s = write_tiny_study("schema_set", probe_block("layers", "k = [8]") + probe_block("k", "k = [4]"));
  const Study st = load_study(s.file, {"corpus.limit=25", "probe.epochs=3", "probe[1].k=[2, 4]", "extract.shards=2",
                                       "resources.extract.cpus=2", "study.name=tiny run"});
  EXPECT_EQ(st.corpora[0].limit, 25);
  EXPECT_EQ(st.probes[0].epochs, 3);
  EXPECT_EQ(st.probes[1].epochs, 3);
  EXPECT_EQ(st.probes[0].k, (std::vector<int>{8}));
  EXPECT_EQ(st.probes[1].k, (std::vector<int>{2, 4}));
  EXPECT_EQ(st.extract.shards, 2);
  EXPECT_EQ(st.extract.token_budget, 512);  // the file's other [extract] keys are kept
  EXPECT_EQ(st.resources.at("extract").at("cpus"), "2");
  EXPECT_EQ(st.name, "tiny run");

  auto set_error = [&](const std::string& o) {
    try {
      load_study(s.file, {o});
    } catch (const ps::InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(set_error("corpus.limitt=3"), "--set corpus.limitt=3: corpus[0].limitt: unknown key");
  EXPECT_EQ(set_error("corpus.limit=many"), "--set corpus.limit=many: corpus[0].limit: expected an integer");
  EXPECT_EQ(set_error("probe[2].k=8"), "--set probe[2].k=8: probe: index 2 beyond its 2 tables");
  EXPECT_EQ(set_error("study.name.x=1"), "--set study.name.x=1: study.name is a value, not a table");
  EXPECT_EQ(set_error("limit"), "--set limit: expected KEY=VALUE (e.g. corpus.limit=80)");
  EXPECT_EQ(set_error("nope.x=1"), "--set nope.x=1: nope: unknown key");
}

}  // namespace
}  // namespace ps::study
