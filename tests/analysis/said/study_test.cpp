// A SAID study on disk: stopped part-way (the CLI's Ctrl-C/SIGTERM path: the current run's Progress is
// cancelled), it leaves a curve marked incomplete; rerun with the same settings it reuses the finished runs
// and ends with the result an uninterrupted study writes.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "analysis/said/study.h"
#include "models/util/files.h"
#include "tests/analysis/said/said_fixtures.h"

namespace ps::said {
namespace {

SweepOptions small_search() {
  SweepOptions o;
  o.run.mode = Mode::DID;
  o.run.steps = 40, o.run.batch = 32, o.run.lr = 0.064;
  o.full_lr = 0.03;
  o.search_d90 = true;
  o.max_d = 3000;
  o.max_bisect = 2;
  return o;
}

// said.json without wall times (they differ between any two runs).
nlohmann::json without_seconds(nlohmann::json j) {
  if (j.is_object()) {
    j.erase("seconds");
    j.erase("seconds_per_step");
    for (auto& [k, v] : j.items()) v = without_seconds(v);
  } else if (j.is_array()) {
    for (auto& v : j) v = without_seconds(v);
  }
  return j;
}

// curve.csv without its seconds_per_step column (the 10th of 11).
std::string curve_without_seconds(const std::string& csv) {
  std::istringstream in(csv);
  std::string line, out;
  while (std::getline(in, line)) {
    size_t p = 0;
    for (int i = 0; i < 9; ++i) p = line.find(',', p) + 1;
    out += line.substr(0, p) + line.substr(line.find(',', p) + 1) + "\n";
  }
  return out;
}

nlohmann::json said_json(const std::string& dir) { return nlohmann::json::parse(read_file(dir + "/said.json")); }

TEST(Study, StoppedThenRerunEqualsUninterrupted) {
  const auto model = test::tiny_model();
  const auto data = test::marker_task(512, 128);
  const auto opt = small_search();
  const nlohmann::json meta = {{"model", "tiny"}, {"threads", 1}};
  const std::string whole = test::temp_dir("study") + "/whole", resumed = test::temp_dir("study") + "/resumed";

  const auto expected = run_study(model, data, opt, whole, meta);
  ASSERT_FALSE(expected.cancelled);
  ASSERT_GE(expected.runs.size(), 2u) << curve_csv(expected);
  EXPECT_TRUE(said_json(whole).at("complete").get<bool>());

  // Stop in the second subspace run: its Progress is cancelled as the CLI's signal guard would.
  int made = 0;
  SweepHooks stop;
  stop.progress = [&](const std::string& label, int64_t steps) {
    auto p = std::make_shared<Progress>(label, steps, "steps", /*to_stderr=*/false);
    if (++made == 3) p->cancel();  // full, d=10, then this one
    return p;
  };
  const auto stopped = run_study(model, data, opt, resumed, meta, stop);
  EXPECT_TRUE(stopped.cancelled);
  ASSERT_EQ(stopped.runs.size(), 2u);
  EXPECT_TRUE(stopped.runs.back().cancelled);
  const auto partial = said_json(resumed);
  EXPECT_FALSE(partial.at("complete").get<bool>());
  EXPECT_TRUE(partial.at("d90").is_null());
  ASSERT_EQ(partial.at("runs").size(), 2u);  // the stopped run is shown, marked cancelled
  EXPECT_TRUE(partial.at("runs")[1].at("cancelled").get<bool>());

  // The rerun takes the baseline and d=10 from said.json and runs the stopped d again.
  std::vector<bool> reused;
  SweepHooks watch;
  watch.on_run = [&](const RunResult&, const std::string&, const SweepResult&, bool r) { reused.push_back(r); };
  const auto again = run_study(model, data, opt, resumed, meta, watch);
  EXPECT_FALSE(again.cancelled);
  ASSERT_EQ(reused.size(), 1 + expected.runs.size());
  EXPECT_TRUE(reused[0] && reused[1]);
  for (size_t i = 2; i < reused.size(); ++i) EXPECT_FALSE(reused[i]) << i;
  EXPECT_EQ(again.d90, expected.d90);
  EXPECT_EQ(again.d90_below, expected.d90_below);
  EXPECT_EQ(without_seconds(said_json(resumed)), without_seconds(said_json(whole)));
  EXPECT_EQ(curve_without_seconds(read_file(resumed + "/curve.csv")), curve_without_seconds(read_file(whole + "/curve.csv")));

  // A finished study rerun reuses every run; "threads" is not part of the identity.
  reused.clear();
  auto other_threads = meta;
  other_threads["threads"] = 2;
  run_study(model, data, opt, resumed, other_threads, watch);
  EXPECT_EQ(std::count(reused.begin(), reused.end(), true), long(reused.size()));
  EXPECT_EQ(without_seconds(said_json(resumed)).dump(), [&] {
    auto j = without_seconds(said_json(whole));
    j["threads"] = 2;
    return j.dump();
  }());
}

TEST(Study, OtherSettingsStartOver) {
  const auto model = test::tiny_model();
  const auto data = test::marker_task(256, 64);
  SweepOptions o;
  o.run.mode = Mode::DID;
  o.run.steps = 10, o.run.batch = 16;
  o.run_full = false;
  o.ds = {10, 30};
  const std::string dir = test::temp_dir("study_other") + "/out";
  run_study(model, data, o, dir, {{"model", "tiny"}});
  int reused = 0;
  SweepHooks watch;
  watch.on_run = [&](const RunResult&, const std::string&, const SweepResult&, bool r) { reused += r; };
  auto seeded = o;
  seeded.run.seed = o.run.seed + 1;
  const auto r = run_study(model, data, seeded, dir, {{"model", "tiny"}}, watch);
  EXPECT_EQ(reused, 0);
  EXPECT_EQ(said_json(dir).at("config").at("seed").get<uint64_t>(), seeded.run.seed);
  // Other task data (another sample) is another study too.
  reused = 0;
  run_study(model, test::marker_task(256, 64, /*seed=*/12), seeded, dir, {{"model", "tiny"}}, watch);
  EXPECT_EQ(reused, 0);
  EXPECT_EQ(r.runs.size(), 2u);
}

}  // namespace
}  // namespace ps::said
