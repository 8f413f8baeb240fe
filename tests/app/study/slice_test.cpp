// probe --task i/N: the slices of a grid, joined, are the unsliced sweep (same fits, same summary).
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "models/util/files.h"
#include "probes/results.h"
#include "probes/sweep.h"
#include "tests/common/scratch.h"
#include "tests/data/extract/extract_fixture.h"

namespace ps::probes {
namespace {

std::string key(const ResultRow& r) {
  return r.model + "|" + std::to_string(r.layer) + "|" + std::to_string(r.k) + "|" + std::to_string(r.seed) + "|" +
         (r.control ? "control" : "real");
}

// summary.csv without the columns that time the fits.
std::string summary_without_seconds(const std::string& path) {
  std::istringstream in(ps::read_file(path));
  std::string line, out;
  std::vector<bool> keep;
  bool header = true;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ls(line);
    for (std::string c; std::getline(ls, c, ',');) cells.push_back(c);
    if (header) {
      for (const auto& c : cells) keep.push_back(c.rfind("seconds", 0) != 0);
      header = false;
    }
    for (size_t i = 0; i < cells.size(); ++i)
      if (i >= keep.size() || keep[i]) out += cells[i] + ",";
    out += "\n";
  }
  return out;
}

TEST(ProbeSlices, SlicesJoinedEqualTheUnslicedSweep) {
  using namespace ps::extract::testing;
  const std::string dir = ps::test::scratch_dir("slices").string();
  const std::string store = dir + "/s.h5";
  ps::extract::extract(tiny_options(tiny_model_dir(), write_corpus(dir, 40), store));
  SweepOptions o;
  o.stores = {store};
  o.ks = {2, 4};
  o.seeds = {1, 2};
  o.control = true;
  o.epochs = 2;
  o.steps_per_epoch = 3;
  o.threads = 1;
  o.split.train = 0.6, o.split.valid = 0.2, o.split.test = 0.2;
  o.out_dir = dir + "/whole";
  run_probe_sweep(o);
  std::vector<std::string> slices;
  std::set<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    SweepOptions s = o;
    s.task_index = i, s.task_count = 3;
    s.out_dir = dir + "/slice" + std::to_string(i);
    const SweepResult r = run_probe_sweep(s);
    for (const auto& row : read_results(r.results_json)) EXPECT_TRUE(seen.insert(key(row)).second) << key(row) << " in two slices";
    slices.push_back(r.results_json);
  }
  join_sweep_results({slices}, dir + "/joined");
  const auto whole = read_results(dir + "/whole/results.json");
  const auto joined = read_results(dir + "/joined/results.json");
  ASSERT_EQ(whole.size(), joined.size());
  EXPECT_EQ(seen.size(), whole.size());
  std::map<std::string, const ResultRow*> by_key;
  for (const auto& r : joined) by_key[key(r)] = &r;
  for (const auto& w : whole) {
    ASSERT_TRUE(by_key.count(key(w))) << key(w);
    const ResultRow& j = *by_key[key(w)];
    for (const char* m : {"f1_macro", "valid_f1_macro", "c_accuracy", "u_accuracy", "best_epoch"})
      EXPECT_EQ(w.value(m), j.value(m)) << key(w) << " " << m;
  }
  EXPECT_EQ(summary_without_seconds(dir + "/joined/summary.csv"), summary_without_seconds(dir + "/whole/summary.csv"));
  EXPECT_EQ(ps::read_file(dir + "/joined/baselines.csv"), ps::read_file(dir + "/whole/baselines.csv"));
  // A slice out of range is refused before any work.
  SweepOptions bad = o;
  bad.task_index = 3, bad.task_count = 3, bad.out_dir = dir + "/bad";
  EXPECT_THROW(run_probe_sweep(bad), ps::InputError);
  EXPECT_THROW(parse_task_slice("2/2", "--task"), ps::InputError);
  EXPECT_EQ(parse_task_slice("1/4", "--task"), std::make_pair(1, 4));
}

}  // namespace
}  // namespace ps::probes
