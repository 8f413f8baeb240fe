// Tick selection and number formatting: planted ranges with known nice answers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "analysis/plot/ticks.h"

namespace {

using namespace ps::plot;

TEST(Ticks, LayersGetIntegerStepsInsideThePaddedRange) {
  const Ticks t = linear_ticks(0, 12, 6, true);
  EXPECT_EQ(t.values, (std::vector<double>{0, 2, 4, 6, 8, 10, 12}));
  EXPECT_EQ(t.labels, (std::vector<std::string>{"0", "2", "4", "6", "8", "10", "12"}));
  EXPECT_LT(t.lo, 0);
  EXPECT_GT(t.hi, 12);
  // Few layers: never a fractional layer tick.
  const Ticks few = linear_ticks(0, 2, 6, true);
  EXPECT_EQ(few.values, (std::vector<double>{0, 1, 2}));
}

TEST(Ticks, FractionsUseOneTwoFiveStepsAndMatchingDecimals) {
  const Ticks t = linear_ticks(0.31, 0.8, 5);
  EXPECT_EQ(t.labels, (std::vector<std::string>{"0.3", "0.4", "0.5", "0.6", "0.7", "0.8"}));
  for (size_t i = 0; i < t.values.size(); ++i) EXPECT_NEAR(t.values[i], 0.3 + 0.1 * double(i), 1e-12);
  const Ticks small = linear_ticks(-0.004, 0.011, 5);
  for (size_t i = 0; i < small.values.size(); ++i)
    if (small.values[i] == 0) {
      EXPECT_NE(small.labels[i][0], '-');  // zero is never "-0.000"
    }
  const Ticks big = linear_ticks(0, 25000, 5);
  EXPECT_EQ(big.labels, (std::vector<std::string>{"0", "5000", "10000", "15000", "20000", "25000"}));
}

TEST(Ticks, EveryTickLiesInTheRangeAndRangesCoverTheData) {
  for (double lo : {-3.7, 0.0, 0.001, 17.0, 1e5}) {
    for (double span : {1e-3, 0.37, 1.0, 9.9, 1234.5}) {
      const Ticks t = linear_ticks(lo, lo + span, 5);
      EXPECT_LE(t.lo, lo);
      EXPECT_GE(t.hi, lo + span);
      ASSERT_GE(t.values.size(), 2u) << lo << " " << span;
      EXPECT_LE(t.values.size(), 11u);
      for (double v : t.values) {
        EXPECT_GE(v, t.lo - 1e-9 * std::fabs(t.lo));
        EXPECT_LE(v, t.hi + 1e-9 * std::fabs(t.hi));
      }
      // Labels are distinct: the decimals suffice to tell ticks apart.
      std::set<std::string> distinct(t.labels.begin(), t.labels.end());
      EXPECT_EQ(distinct.size(), t.labels.size()) << lo << " " << span;
    }
  }
}

TEST(Ticks, DegenerateRangeIsWidened) {
  const Ticks t = linear_ticks(0.5, 0.5, 5);
  EXPECT_LT(t.lo, 0.5);
  EXPECT_GT(t.hi, 0.5);
  EXPECT_GE(t.values.size(), 2u);
  const Ticks z = linear_ticks(0, 0, 5);
  EXPECT_LT(z.lo, 0);
  EXPECT_GT(z.hi, 0);
}

TEST(Ticks, LogTicksArePowersOfTheBaseThinnedToMax) {
  const Ticks t = log_ticks(1, 1024, 2, 8);
  // 11 powers (2^0..2^10) > 8: every second power.
  EXPECT_EQ(t.values, (std::vector<double>{1, 4, 16, 64, 256, 1024}));
  EXPECT_EQ(t.labels, (std::vector<std::string>{"1", "4", "16", "64", "256", "1024"}));
  const Ticks k = log_ticks(1, 64, 2, 8);
  EXPECT_EQ(k.labels, (std::vector<std::string>{"1", "2", "4", "8", "16", "32", "64"}));
  const Ticks frac = log_ticks(0.125, 1, 2, 8);
  EXPECT_EQ(frac.labels, (std::vector<std::string>{"0.125", "0.25", "0.5", "1"}));
}

TEST(Ticks, FormatAndDecimals) {
  EXPECT_EQ(tick_decimals(0.25), 2);
  EXPECT_EQ(tick_decimals(2.5), 1);
  EXPECT_EQ(tick_decimals(5), 0);
  EXPECT_EQ(format_tick(-0.0, 2), "0.00");
  EXPECT_EQ(format_tick(-1e-18, 1), "0.0");
  EXPECT_EQ(format_tick(1.5, 1), "1.5");
  EXPECT_EQ(format_tick(3e9, 0), "3e+09");
}

TEST(Ticks, LabelStride) {
  EXPECT_EQ(label_stride(10, 8), 1);
  EXPECT_EQ(label_stride(4, 8), 2);
  EXPECT_EQ(label_stride(3, 8), 3);
  EXPECT_EQ(label_stride(1, 8.5), 9);
}

TEST(Ticks, LineAxesUseAllSeriesBandsAndFixedEnds) {
  LinePlot p;
  Series a;
  a.x = {0, 1, 2, 3};
  a.y = {0.5, 0.6, 0.7, 0.65};
  a.lo = {0.45, 0.5, 0.6, 0.55};
  a.hi = {0.55, 0.7, 0.9, 0.75};
  Series b;
  b.x = {0, 3};
  b.y = {0.2, NAN};
  p.series = {a, b};
  LineAxes ax = line_axes(p);
  EXPECT_LE(ax.y.lo, 0.2);
  EXPECT_GE(ax.y.hi, 0.9);
  EXPECT_EQ(ax.x.values, (std::vector<double>{0, 1, 2, 3}));  // integer x: integer ticks
  p.y.min = 0.0;
  p.y.max = 1.0;
  ax = line_axes(p);
  EXPECT_EQ(ax.y.lo, 0.0);
  EXPECT_EQ(ax.y.hi, 1.0);
  EXPECT_EQ(ax.y.labels.front(), "0.0");
  EXPECT_EQ(ax.y.labels.back(), "1.0");
  p.x.log = true;  // x = 0 is dropped on a log axis
  ax = line_axes(p);
  EXPECT_GE(ax.x.values.front(), 1);
}

}  // namespace
