// probes/results.h against the sweep's own writer: what Results writes, read_results reads back.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "models/util/error.h"
#include "probes/results.h"
#include "probes/sweep_internal.h"
#include "tests/common/scratch.h"

namespace ps::probes {
namespace {

nlohmann::json row(const std::string& model, int layer, uint64_t seed, const std::string& task, double f1) {
  return {{"model", model}, {"language", "py"}, {"store", "a,\"b\".h5"}, {"layer", layer}, {"k", 16},
          {"seed", seed},   {"task", task},     {"f1_macro", f1},        {"epochs", 3},
          {"probe", "probes/" + model + "_" + std::to_string(layer) + ".bin"}};
}

std::string write_results(const std::string& dir) {
  sweep::Results out(dir, {{"kind", "ast"}}, ProbeKind::ast);
  out.add(row("gpt2", 1, 1, "real", 0.5));
  out.add(row("gpt2", 1, 2, "real", 0.7));
  out.add(row("gpt2", 1, 1, "control", 0.2));
  nlohmann::json no_metric = row("gpt2", 2, 1, "real", 0);
  no_metric["f1_macro"] = nullptr;
  out.add(no_metric);
  return dir;
}

TEST(Results, RoundTripThroughCsvAndJson) {
  const std::string dir = write_results(ps::test::scratch_dir("results").string());
  for (const char* file : {"/results.csv", "/results.json"}) {
    const auto rows = read_results(dir + file);
    ASSERT_EQ(rows.size(), 4u) << file;
    EXPECT_EQ(rows[0].model, "gpt2");
    EXPECT_EQ(rows[0].language, "py");
    EXPECT_EQ(rows[0].store, "a,\"b\".h5");  // quoted in the CSV
    EXPECT_EQ(rows[1].layer, 1);
    EXPECT_EQ(rows[1].k, 16);
    EXPECT_EQ(rows[1].seed, 2u);
    EXPECT_FALSE(rows[1].control);
    EXPECT_TRUE(rows[2].control);
    EXPECT_DOUBLE_EQ(rows[1].value("f1_macro"), 0.7);
    EXPECT_DOUBLE_EQ(rows[0].value("epochs"), 3);
    EXPECT_TRUE(std::isnan(rows[3].value("f1_macro")));
    EXPECT_TRUE(std::isnan(rows[0].value("no_such_column")));
    EXPECT_EQ(rows[0].probe, dir + "/probes/gpt2_1.bin");  // resolved against the results folder
  }
}

TEST(Results, SummaryAveragesSeedsAndSubtractsTheControl) {
  const std::string dir = write_results(ps::test::scratch_dir("summary").string());
  const auto cells = summarise_results(read_results(dir + "/results.json"), "f1_macro");
  ASSERT_EQ(cells.size(), 1u);  // layer 2 has no f1_macro
  EXPECT_EQ(cells[0].layer, 1);
  EXPECT_EQ(cells[0].n_seeds, 2);
  EXPECT_DOUBLE_EQ(cells[0].mean, 0.6);
  EXPECT_TRUE(cells[0].has_control);
  EXPECT_NEAR(cells[0].selectivity, 0.4, 1e-12);
}

TEST(Results, BadFileNamesFileAndLine) {
  const std::string path = (ps::test::scratch_dir("bad") / "results.csv").string();
  std::ofstream(path) << "model,language,store,layer,k,seed,task,f1_macro\n"
                      << "gpt2,py,s.h5,1,16,1,real,0.5\n"
                      << "gpt2,py,s.h5,one,16,1,real,0.5\n";
  try {
    read_results(path);
    FAIL();
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind(path + ":3: layer 'one'", 0), 0u) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos);
  }
  std::ofstream(path) << "model,language,store,layer,k,seed,task\ngpt2,py,s.h5,1,16\n";
  EXPECT_THROW(read_results(path), InputError);
  std::ofstream(path) << "a,b\n";
  EXPECT_THROW(read_results(path), InputError);
  EXPECT_THROW(read_results(path + ".missing"), InputError);
}

}  // namespace
}  // namespace ps::probes
