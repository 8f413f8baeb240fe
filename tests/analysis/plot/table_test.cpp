// Results CSVs into line plots and matrix CSVs into heatmaps, with planted aggregates.
#include <gtest/gtest.h>

#include "analysis/plot/table.h"
#include "models/util/error.h"

namespace {

using namespace ps::plot;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ps::InputError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(Csv, QuotesEscapesAndLineEnds) {
  const auto r = parse_csv("a,\"b,c\",\"say \"\"hi\"\"\"\r\n\n1,\"two\nlines\",3\n", "t.csv");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0], (std::vector<std::string>{"a", "b,c", "say \"hi\""}));
  EXPECT_EQ(r[1], (std::vector<std::string>{"1", "two\nlines", "3"}));
  EXPECT_EQ(parse_csv("x,\n", "t")[0], (std::vector<std::string>{"x", ""}));
  EXPECT_NE(error_of([] { parse_csv("a,\"open\n", "bad.csv"); }).find("bad.csv: line 1: unterminated"),
            std::string::npos);
  EXPECT_NE(error_of([] { read_csv_table("a,b\n1\n", "r.csv"); }).find("r.csv: record 2 has 1 fields"),
            std::string::npos);
}

// The probe sweep's shape: model,language,layer,k,seed,f1 — three seeds per point.
const char* kSweep =
    "model,language,layer,k,seed,f1\n"
    "codebert,python,0,2,1,0.50\n"
    "codebert,python,0,2,2,0.60\n"
    "codebert,python,0,2,3,0.70\n"
    "codebert,python,1,2,1,0.80\n"
    "codebert,go,0,2,1,0.10\n"
    "gpt2,python,1,2,1,0.40\n"
    "gpt2,python,0,2,1,0.30\n"
    "gpt2,python,0,2,2,\n";  // a missing value is skipped

TEST(Lines, GroupsAverageSeedsAndBandTheSpread) {
  const CsvTable t = read_csv_table(kSweep, "results.csv");
  LineQuery q;
  q.x = "layer";
  q.y = "f1";
  q.group = {"model"};
  q.where = {{"language", "python"}};
  const LinePlot p = lines_from_table(t, q);
  ASSERT_EQ(p.series.size(), 2u);
  EXPECT_EQ(p.series[0].name, "codebert");  // order of first appearance
  EXPECT_EQ(p.series[0].x, (std::vector<double>{0, 1}));
  EXPECT_DOUBLE_EQ(p.series[0].y[0], 0.6);
  EXPECT_DOUBLE_EQ(p.series[0].lo[0], 0.5);
  EXPECT_DOUBLE_EQ(p.series[0].hi[0], 0.7);
  EXPECT_EQ(p.series[0].count, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(p.series[1].name, "gpt2");
  EXPECT_EQ(p.series[1].x, (std::vector<double>{0, 1}));  // sorted by x
  EXPECT_EQ(p.series[1].y, (std::vector<double>{0.3, 0.4}));
  EXPECT_TRUE(p.series[1].lo.empty());  // single rows everywhere: no band
  EXPECT_EQ(p.x.label, "layer");
  EXPECT_EQ(p.y.label, "f1");

  q.group = {"model", "language"};
  q.where.clear();
  const LinePlot all = lines_from_table(t, q);
  ASSERT_EQ(all.series.size(), 3u);
  EXPECT_EQ(all.series[1].name, "codebert / go");
}

TEST(Lines, GivenBandColumnsCoverEveryRowsInterval) {
  const CsvTable t = read_csv_table(
      "layer,estimator,id,lo,hi\n0,twonn,10,9,11\n1,twonn,14,12,15\n0,mle,8,7.5,8.5\n0,mle,10,9,12\n", "id.csv");
  LineQuery q;
  q.x = "layer";
  q.y = "id";
  q.group = {"estimator"};
  q.lo = "lo";
  q.hi = "hi";
  const LinePlot p = lines_from_table(t, q);
  ASSERT_EQ(p.series.size(), 2u);
  EXPECT_EQ(p.series[0].lo, (std::vector<double>{9, 12}));
  EXPECT_EQ(p.series[0].hi, (std::vector<double>{11, 15}));
  EXPECT_EQ(p.series[1].y, (std::vector<double>{9}));
  EXPECT_EQ(p.series[1].lo, (std::vector<double>{7.5}));
  EXPECT_EQ(p.series[1].hi, (std::vector<double>{12}));
}

TEST(Lines, ErrorsNameTheFileColumnAndRecord) {
  const CsvTable t = read_csv_table("layer,f1\n0,0.5\nx,0.7\n1,oops\n", "r.csv");
  LineQuery q;
  q.x = "layer";
  q.y = "nope";
  EXPECT_NE(error_of([&] { lines_from_table(t, q); }).find("r.csv: no column 'nope' (columns: layer, f1)"),
            std::string::npos);
  q.y = "f1";
  EXPECT_NE(error_of([&] { lines_from_table(t, q); }).find("record 3: x column 'layer' is 'x'"), std::string::npos);
  q.where = {{"layer", "1"}};
  EXPECT_NE(error_of([&] { lines_from_table(t, q); }).find("record 4: y column 'f1' is 'oops'"), std::string::npos);
  q.where = {{"layer", "7"}};
  EXPECT_NE(error_of([&] { lines_from_table(t, q); }).find("no rows left"), std::string::npos);
  q.where.clear();
  q.lo = "layer";
  EXPECT_NE(error_of([&] { lines_from_table(t, q); }).find("both band columns"), std::string::npos);
}

TEST(HeatmapCsv, DetectsHeaderAndRowLabels) {
  Heatmap plain = heatmap_from_csv("1,2,3\n4,5,6\n", "m.csv");
  EXPECT_EQ(plain.rows, 2);
  EXPECT_EQ(plain.cols, 3);
  EXPECT_EQ(plain.values, (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_TRUE(plain.row_labels.empty());
  EXPECT_TRUE(plain.col_labels.empty());

  Heatmap labelled = heatmap_from_csv(",def,f,(\ndef,1,0,0\nf,0.5,0.5,0\n", "m.csv");
  EXPECT_EQ(labelled.rows, 2);
  EXPECT_EQ(labelled.cols, 3);
  EXPECT_EQ(labelled.col_labels, (std::vector<std::string>{"def", "f", "("}));
  EXPECT_EQ(labelled.row_labels, (std::vector<std::string>{"def", "f"}));
  EXPECT_EQ(labelled.values[3], 0.5);

  Heatmap header_only = heatmap_from_csv("a,b\n1,2\n", "m.csv");  // no corner cell: no row labels
  EXPECT_EQ(header_only.col_labels, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(header_only.row_labels.empty());

  EXPECT_NE(error_of([] { heatmap_from_csv("1,2\n3\n", "m.csv"); }).find("record 2 has 1 fields, expected 2"),
            std::string::npos);
  EXPECT_NE(error_of([] { heatmap_from_csv("a,1,2\nb,3,x\n", "m.csv"); }).find("'x' is not a number"),
            std::string::npos);
}

TEST(HeatmapCsv, LabelsFileGoesToRowsColumnsOrBoth) {
  Heatmap h = heatmap_from_csv("1,2,3\n4,5,6\n", "m.csv");
  apply_labels(h, read_labels("a\nb\nc\n"), "l.txt");
  EXPECT_EQ(h.col_labels, (std::vector<std::string>{"a", "b", "c"}));
  apply_labels(h, read_labels("q1\r\nq2"), "l.txt");
  EXPECT_EQ(h.row_labels, (std::vector<std::string>{"q1", "q2"}));
  EXPECT_NE(error_of([&] { apply_labels(h, {"x"}, "l.txt"); }).find("l.txt: 1 labels, but the matrix is 2 x 3"),
            std::string::npos);
  EXPECT_EQ(read_labels("a\n\nb\n"), (std::vector<std::string>{"a", "", "b"}));  // an empty label is kept
}

}  // namespace
