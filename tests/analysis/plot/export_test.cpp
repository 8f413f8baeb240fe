// CSV/JSON exports carry exactly the values of the spec (shortest round-trip text), and the heatmap
// CSV reads back through the heatmap reader unchanged.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "analysis/plot/export.h"
#include "analysis/plot/masks.h"
#include "analysis/plot/table.h"
#include "analysis/plot/ticks.h"
#include "analysis/plot/trees.h"

namespace {

using namespace ps::plot;
using nlohmann::json;

LinePlot planted_lines() {
  LinePlot p;
  p.title = "F1 by layer";
  p.x.label = "layer";
  p.y.label = "F1";
  Series a;
  a.name = "model, \"A\"";  // needs CSV quoting
  a.x = {0, 1, 2};
  a.y = {0.1, 1.0 / 3.0, 2.0 / 3.0};
  a.lo = {0.05, 0.3, 1e-300};
  a.hi = {0.15, 0.4, 0.7};
  a.count = {3, 3, 1};
  Series b;
  b.name = "B";
  b.x = {0, 2};
  b.y = {0.123456789012345678, NAN};
  p.series = {a, b};
  return p;
}

TEST(Export, LineCsvRoundTripsEveryDouble) {
  const LinePlot p = planted_lines();
  const CsvTable t = read_csv_table(to_csv(p), "out.csv");
  EXPECT_EQ(t.header, (std::vector<std::string>{"series", "x", "y", "lo", "hi", "count"}));
  ASSERT_EQ(t.rows.size(), 5u);
  EXPECT_EQ(t.rows[0][0], "model, \"A\"");
  size_t r = 0;
  for (const auto& s : p.series) {
    for (size_t i = 0; i < s.x.size(); ++i, ++r) {
      double v;
      ASSERT_TRUE(parse_number(t.rows[r][1], v));
      EXPECT_EQ(v, s.x[i]);
      ASSERT_TRUE(parse_number(t.rows[r][2], v));
      if (std::isnan(s.y[i])) {
        EXPECT_TRUE(std::isnan(v));
      } else {
        EXPECT_EQ(v, s.y[i]);  // bit-exact
      }
      if (!s.lo.empty()) {
        ASSERT_TRUE(parse_number(t.rows[r][3], v));
        EXPECT_EQ(v, s.lo[i]);
        ASSERT_TRUE(parse_number(t.rows[r][4], v));
        EXPECT_EQ(v, s.hi[i]);
        EXPECT_EQ(t.rows[r][5], std::to_string(s.count[i]));
      } else {
        EXPECT_EQ(t.rows[r][3], "");
        EXPECT_EQ(t.rows[r][5], "");
      }
    }
  }
  EXPECT_EQ(number_text(0.1), "0.1");
  EXPECT_EQ(number_text(12), "12");
}

TEST(Export, LineJsonHasDataAndTheTicksDrawn) {
  const LinePlot p = planted_lines();
  const json j = json::parse(to_json(p));
  EXPECT_EQ(j["kind"], "lines");
  EXPECT_EQ(j["title"], "F1 by layer");
  EXPECT_EQ(j["series"][0]["y"][1].get<double>(), 1.0 / 3.0);
  EXPECT_EQ(j["series"][0]["lo"][2].get<double>(), 1e-300);
  EXPECT_TRUE(j["series"][1]["y"][1].is_null());  // NaN has no JSON number
  const LineAxes ax = line_axes(p);
  EXPECT_EQ(j["x_axis"]["ticks"].get<std::vector<double>>(), ax.x.values);
  EXPECT_EQ(j["y_axis"]["tick_labels"].get<std::vector<std::string>>(), ax.y.labels);
  EXPECT_EQ(j["y_axis"]["min"].get<double>(), ax.y.lo);
}

TEST(Export, HeatmapCsvReadsBackUnchanged) {
  Heatmap h;
  h.rows = 2;
  h.cols = 3;
  h.values = {0.1, 0.2, 0.7, 1.0 / 7.0, 0, 6.0 / 7.0};
  h.row_labels = {"def", "x,y"};
  h.col_labels = {"\"q\"", "(", ")"};
  const Heatmap back = heatmap_from_csv(to_csv(h), "h.csv");
  EXPECT_EQ(back.rows, 2);
  EXPECT_EQ(back.cols, 3);
  EXPECT_EQ(back.values, h.values);
  EXPECT_EQ(back.row_labels, h.row_labels);
  EXPECT_EQ(back.col_labels, h.col_labels);
  // Without labels the indices are written, and still read back as labels of the same matrix.
  h.row_labels.clear();
  h.col_labels.clear();
  const Heatmap idx = heatmap_from_csv(to_csv(h), "h.csv");
  EXPECT_EQ(idx.values, h.values);
  EXPECT_EQ(idx.col_labels, (std::vector<std::string>{"0", "1", "2"}));
  const json j = json::parse(to_json(h));
  EXPECT_EQ(j["values"][1][0].get<double>(), 1.0 / 7.0);
  EXPECT_EQ(j["color_min"].get<double>(), 0.0);
  EXPECT_EQ(j["color_max"].get<double>(), 6.0 / 7.0);
}

TEST(Export, MaskRowsAreTheMatrix) {
  MaskFigure m;
  m.panels.push_back(mask_panel(parse_mask_mode("window:2"), 4));
  m.panels.push_back(mask_panel(parse_mask_mode("packed:2,2"), 0));
  EXPECT_EQ(to_csv(m),
            "panel,query,keys\n0,0,1000\n0,1,1100\n0,2,0110\n0,3,0011\n1,0,1000\n1,1,1100\n1,2,0010\n1,3,0011\n");
  const json j = json::parse(to_json(m));
  EXPECT_EQ(j["panels"][1]["segment_starts"], json::array({2}));
  EXPECT_EQ(j["panels"][0]["allowed"][2], "0110");
  EXPECT_FALSE(j["panels"][0].contains("capped"));
}

TEST(Export, LmInfiniteCappedKeysAreMarkedTwo) {
  MaskFigure m;
  m.panels.push_back(mask_panel(parse_mask_mode("lm-infinite:1:2"), 4));  // key 0 capped for queries 2, 3
  EXPECT_EQ(to_csv(m), "panel,query,keys\n0,0,1000\n0,1,1100\n0,2,2110\n0,3,2011\n");
  const json j = json::parse(to_json(m));
  EXPECT_EQ(j["panels"][0]["allowed"][3], "1011");
  EXPECT_EQ(j["panels"][0]["capped"][3], "1000");
}

TEST(Export, TreeCsvListsLayoutAndMatches) {
  const TreePair p = tree_pair(parse_bracket("(s (a x y) z)", "g"), parse_bracket("(s x (b y z))", "p"));
  const std::string csv = to_csv(p);
  EXPECT_NE(csv.find("gold,1,0,a,0,2,0,0.5,1,0\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("gold,0,-1,s,0,3,0,1.25,0,1\n"), std::string::npos) << csv;
  const json j = json::parse(to_json(p));
  EXPECT_EQ(j["constituents"]["matched"], 1);
  EXPECT_EQ(j["constituents"]["gold"], 2);
}

TEST(Export, CsvCellQuotesOnlyWhenNeeded) {
  EXPECT_EQ(csv_cell("plain"), "plain");
  EXPECT_EQ(csv_cell("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_cell("say \"x\""), "\"say \"\"x\"\"\"");
  EXPECT_EQ(csv_cell("two\nlines"), "\"two\nlines\"");
}

}  // namespace
