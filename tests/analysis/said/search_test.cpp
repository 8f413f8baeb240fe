// d sweeps and the d90 search on the tiny separable task; the curve written as CSV + JSON.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "analysis/said/search.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "tests/analysis/said/said_fixtures.h"

namespace ps::said {
namespace {

TEST(Sweep, ParseAndGeometricDs) {
  EXPECT_EQ(parse_ds("1000,10,100,10"), (std::vector<int64_t>{10, 100, 1000}));
  EXPECT_THROW(parse_ds("10,x"), InputError);
  EXPECT_THROW(parse_ds("0"), InputError);
  EXPECT_THROW(parse_ds("10,"), InputError);
  EXPECT_EQ(geometric_ds(3000), (std::vector<int64_t>{10, 30, 100, 300, 1000, 3000}));
  EXPECT_EQ(geometric_ds(250), (std::vector<int64_t>{10, 30, 100}));
}

TEST(Sweep, D90SearchBracketsTheTargetAndWritesTheCurve) {
  const auto model = test::tiny_model();
  const auto data = test::marker_task(1024, 256);
  SweepOptions o;
  o.run.mode = Mode::DID;
  o.run.steps = 150, o.run.batch = 32, o.run.lr = 0.064;
  o.full_lr = 0.03;
  o.search_d90 = true;
  o.max_d = 3000;
  o.max_bisect = 2;
  std::vector<std::string> phases;
  SweepHooks hooks;
  hooks.on_run = [&](const RunResult&, const std::string& phase, const SweepResult&, bool) { phases.push_back(phase); };
  const auto r = sweep(model, data, o, hooks);
  ASSERT_TRUE(r.full);
  EXPECT_NEAR(r.threshold, 0.9 * r.full->best_valid_acc, 1e-12);
  ASSERT_TRUE(r.d90) << curve_csv(r);
  EXPECT_EQ(phases.front(), "full");
  // d90 itself reaches the target; every run below d90 (d90_below included) misses it.
  bool saw_d90 = false;
  for (const auto& x : r.runs) {
    if (x.d == *r.d90) {
      saw_d90 = true;
      EXPECT_GE(x.best_valid_acc, r.threshold);
    }
    if (x.d < *r.d90) {
      EXPECT_LT(x.best_valid_acc, r.threshold) << "d=" << x.d;
    }
  }
  EXPECT_TRUE(saw_d90);
  EXPECT_LT(r.d90_below, *r.d90);
  // The sweep stops at its first d reaching the target; bisection only probes inside that bracket.
  int64_t sweep_lo = 0, sweep_hi = 0;
  for (size_t i = 0; i < r.runs.size(); ++i) {
    if (phases[i + 1] != "sweep") continue;
    if (r.runs[i].best_valid_acc >= r.threshold) {
      sweep_hi = r.runs[i].d;
      EXPECT_EQ(phases.size(), i + 2 + std::count(phases.begin(), phases.end(), "bisect"));
    } else {
      sweep_lo = r.runs[i].d;
    }
  }
  EXPECT_GT(sweep_hi, 0);
  EXPECT_LE(*r.d90, sweep_hi);
  for (size_t i = 0; i < r.runs.size(); ++i)
    if (phases[i + 1] == "bisect") {
      EXPECT_GT(r.runs[i].d, sweep_lo);
      EXPECT_LT(r.runs[i].d, sweep_hi);
    }

  const auto dir = test::temp_dir("sweep") + "/out";
  write_sweep(dir, r, o, {{"model", "tiny"}});
  std::istringstream csv(read_file(dir + "/curve.csv"));
  std::string line;
  int rows = -1;
  while (std::getline(csv, line)) ++rows;
  EXPECT_EQ(rows, int(r.runs.size()) + 1);
  const auto j = nlohmann::json::parse(read_file(dir + "/said.json"));
  EXPECT_EQ(j["d90"].get<int64_t>(), *r.d90);
  EXPECT_EQ(j["model"], "tiny");
  EXPECT_EQ(j["runs"].size(), r.runs.size());
  EXPECT_EQ(j["full"]["mode"], "full");
  EXPECT_FALSE(file_exists(dir + "/said.json.tmp"));
}

TEST(Sweep, PlainSweepWithoutBaselineAndErrors) {
  const auto model = test::tiny_model();
  const auto data = test::marker_task(32, 16);
  SweepOptions o;
  o.run.mode = Mode::SAID;
  o.run.steps = 3;
  o.run_full = false;
  o.ds = {5, 2};
  const auto r = sweep(model, data, o);
  EXPECT_FALSE(r.full);
  ASSERT_EQ(r.runs.size(), 2u);
  EXPECT_EQ(r.runs[0].d, 2);
  EXPECT_FALSE(r.d90);
  EXPECT_NE(curve_csv(r).find("said,5,"), std::string::npos);
  o.search_d90 = true;
  EXPECT_THROW(sweep(model, data, o), InputError);  // d90 needs the baseline
  o.search_d90 = false;
  o.ds.clear();
  EXPECT_THROW(sweep(model, data, o), InputError);
  o.ds = {4};
  o.run.mode = Mode::Full;
  EXPECT_THROW(sweep(model, data, o), InputError);
}

}  // namespace
}  // namespace ps::said
