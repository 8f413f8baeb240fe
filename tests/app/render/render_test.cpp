// Rendering writes valid files at publication sizes: PDF with embedded fonts, SVG that parses and
// keeps its text, PNG at the requested pixels whose colours show what was planted.
#include <gtest/gtest.h>

#include <QColor>
#include <QImage>
#include <QPainter>
#include <QXmlStreamReader>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "analysis/plot/export.h"
#include "analysis/plot/masks.h"
#include "analysis/plot/trees.h"
#include "app/render/canvas.h"
#include "app/render/render.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "tests/common/scratch.h"

namespace {

using namespace ps::plot;
namespace fs = std::filesystem;

class Offscreen : public ::testing::Environment {
 public:
  void SetUp() override {
    setenv("QT_QPA_PLATFORM", "offscreen", 1);
    ps::render::ensure_gui_application();
  }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new Offscreen);

std::string out_dir(const std::string& test) {
  return ps::test::scratch_dir(test).string();
}

LinePlot lines() {
  LinePlot p;
  p.title = "Probe F1 by layer";
  p.x.label = "layer";
  p.y.label = "F1";
  for (int m = 0; m < 3; ++m) {
    Series s;
    s.name = "model " + std::to_string(m);
    for (int L = 0; L <= 12; ++L) {
      s.x.push_back(L);
      s.y.push_back(0.3 + 0.04 * L - 0.003 * L * L + 0.05 * m);
      s.lo.push_back(s.y.back() - 0.02);
      s.hi.push_back(s.y.back() + 0.02);
    }
    p.series.push_back(s);
  }
  return p;
}

// Pixels whose colour is within `tol` of c (per channel).
int64_t count_near(const QImage& img, QColor c, int tol = 6) {
  int64_t n = 0;
  for (int y = 0; y < img.height(); ++y)
    for (int x = 0; x < img.width(); ++x) {
      const QColor p = img.pixelColor(x, y);
      if (std::abs(p.red() - c.red()) <= tol && std::abs(p.green() - c.green()) <= tol &&
          std::abs(p.blue() - c.blue()) <= tol)
        ++n;
    }
  return n;
}

TEST(Render, LinePlotWritesValidPdfSvgPngAndData) {
  const std::string dir = out_dir("lines");
  const LinePlot p = lines();
  ps::render::SaveOptions o;
  o.dpi = 200;
  const auto written = ps::render::save_figure(p, dir + "/f1", o);
  EXPECT_EQ(written.size(), 5u);

  const std::string pdf = ps::read_file(dir + "/f1.pdf");
  EXPECT_EQ(pdf.rfind("%PDF", 0), 0u);
  EXPECT_NE(pdf.find("/FontFile"), std::string::npos) << "fonts are not embedded";
  EXPECT_NE(pdf.find("/MediaBox [0 0 252"), std::string::npos) << "not 3.5 in wide";

  const std::string svg = ps::read_file(dir + "/f1.svg");
  QXmlStreamReader xml(QByteArray::fromStdString(svg));
  bool title_text = false;
  while (!xml.atEnd()) {
    xml.readNext();
    if (xml.isCharacters() && xml.text().toString().contains("Probe F1 by layer")) title_text = true;
  }
  EXPECT_FALSE(xml.hasError()) << xml.errorString().toStdString();
  EXPECT_TRUE(title_text);
  EXPECT_NE(svg.find("88.9mm"), std::string::npos) << "not 3.5 in wide";

  QImage png(QString::fromStdString(dir + "/f1.png"));
  ASSERT_FALSE(png.isNull());
  EXPECT_EQ(png.width(), 700);
  EXPECT_EQ(png.height(), int(std::lround(3.5 * default_aspect(p, 3.5) * 200)));
  // Each series' line colour is drawn (a solid run of pixels, not just anti-aliased edges).
  EXPECT_GT(count_near(png, QColor(0, 114, 178)), 300);
  EXPECT_GT(count_near(png, QColor(213, 94, 0)), 300);
  EXPECT_GT(count_near(png, QColor(0, 158, 115)), 300);

  EXPECT_EQ(ps::read_file(dir + "/f1.csv"), to_csv(p));
  EXPECT_EQ(ps::read_file(dir + "/f1.json"), to_json(p));
  for (const auto& e : fs::directory_iterator(dir)) EXPECT_NE(e.path().extension(), ".tmp");
}

TEST(Render, TwoColumnWidthAndFormatSubset) {
  const std::string dir = out_dir("wide");
  ps::render::SaveOptions o;
  o.width_in = kTwoColumnInches;
  o.formats = ps::render::parse_formats("svg,pdf");
  o.write_data = false;
  ps::render::save_figure(lines(), dir + "/wide", o);
  EXPECT_TRUE(fs::exists(dir + "/wide.pdf"));
  EXPECT_FALSE(fs::exists(dir + "/wide.png"));
  EXPECT_FALSE(fs::exists(dir + "/wide.csv"));
  // QPdfWriter keeps page sizes in whole points: 7.16 in = 515.52 pt becomes 516 pt.
  EXPECT_NE(ps::read_file(dir + "/wide.pdf").find("/MediaBox [0 0 516.0"), std::string::npos);
  EXPECT_THROW(ps::render::parse_formats("pdf,jpeg"), ps::InputError);
  EXPECT_THROW(ps::render::parse_formats(""), ps::InputError);
}

TEST(Render, MaskPixelsMatchTheAllowedFraction) {
  MaskFigure m;
  m.panels.push_back(mask_panel(parse_mask_mode("causal"), 16));
  const QImage img = ps::render::render_image(m, 3.5, 3.5 * default_aspect(m, 3.5), 300);
  // Allowed cells are navy, the rest light grey; cell grid lines are white and shared alike.
  const double on = double(count_near(img, QColor(31, 78, 140), 2)), off = double(count_near(img, QColor(236, 236, 236), 2));
  ASSERT_GT(on + off, 10000);
  EXPECT_NEAR(on / (on + off), 136.0 / 256.0, 0.03);
}

TEST(Render, LmInfiniteCappedCellsAreAmber) {
  MaskFigure m;
  m.panels.push_back(mask_panel(parse_mask_mode("lm-infinite:2:4"), 16));
  const QImage img = ps::render::render_image(m, 3.5, 3.5 * default_aspect(m, 3.5), 300);
  // 16 queries: 58 local-band cells (navy) and keys 0, 1 at distance >= 4 (12 + 11 = 23 cells, amber).
  const double amber = double(count_near(img, QColor(230, 159, 0), 2)), navy = double(count_near(img, QColor(31, 78, 140), 2));
  ASSERT_GT(amber + navy, 5000);
  EXPECT_NEAR(amber / (amber + navy), 23.0 / 81.0, 0.03);
  MaskFigure none;
  none.panels.push_back(mask_panel(parse_mask_mode("lm-infinite:2:4:none"), 16));
  EXPECT_LT(count_near(ps::render::render_image(none, 3.5, 3.5 * default_aspect(none, 3.5), 300), QColor(230, 159, 0), 2), 10);
}

TEST(Render, HeatmapSpansTheColourMap) {
  Heatmap h;
  h.title = "gradient";
  h.rows = h.cols = 20;
  for (int i = 0; i < 20; ++i)
    for (int j = 0; j < 20; ++j) h.values.push_back(i + j);
  for (int i = 0; i < 20; ++i) h.row_labels.push_back("token_" + std::to_string(i));
  h.col_labels = h.row_labels;
  const QImage img = ps::render::render_image(h, 3.5, 3.5 * default_aspect(h, 3.5), 300);
  EXPECT_GT(count_near(img, QColor(68, 1, 84), 4), 100);    // viridis(0): the first cell
  EXPECT_GT(count_near(img, QColor(253, 231, 37), 4), 100);  // viridis(1): the last cell
  std::set<QRgb> colours;
  for (int y = 0; y < img.height(); y += 3)
    for (int x = 0; x < img.width(); x += 3) colours.insert(img.pixel(x, y));
  EXPECT_GT(colours.size(), 39u);  // the 39 distinct values show as distinct colours
  // A large matrix goes through the image path.
  Heatmap big;
  big.rows = big.cols = 200;
  for (int k = 0; k < 200 * 200; ++k) big.values.push_back(k % 200);
  const QImage bimg = ps::render::render_image(big, 3.5, 3.5, 100);
  EXPECT_GT(count_near(bimg, QColor(253, 231, 37), 6), 50);
}

TEST(Render, TreeHighlightsOnlyMismatches) {
  const auto highlight = [](const TreePair& p) {
    return count_near(ps::render::render_image(p, 3.5, 3.5 * default_aspect(p, 3.5), 300), QColor(253, 226, 208), 3);
  };
  const TreePair same = tree_pair(parse_bracket("(s (a x y) z)", "g"), parse_bracket("(s (a x y) z)", "p"));
  const TreePair diff = tree_pair(parse_bracket("(s (a x y) z)", "g"), parse_bracket("(s x (b y z))", "p"));
  const int64_t key_only = highlight(same);  // the key swatch is always drawn
  EXPECT_GT(highlight(diff), key_only + 200);
}

TEST(Render, DrawsInsideTheGivenRectOnly) {
  QImage img(600, 400, QImage::Format_RGB32);
  img.fill(Qt::white);
  {
    QPainter p(&img);
    ps::render::render(lines(), p, QRectF(100, 100, 300, 200));
  }
  int64_t outside = 0, inside = 0;
  for (int y = 0; y < 400; ++y)
    for (int x = 0; x < 600; ++x) {
      const bool in = x >= 100 && x < 400 && y >= 100 && y < 300;
      if (img.pixel(x, y) != qRgb(255, 255, 255)) (in ? inside : outside)++;
    }
  EXPECT_EQ(outside, 0);
  EXPECT_GT(inside, 2000);
}

// Grouped bars: each series a filled bar per x from 0 to y, side by side, so a series' pixels grow with its
// values and the tallest bar is where its largest value is.
TEST(Render, BarsAreFilledFromZeroToEachValue) {
  LinePlot p;
  p.title = "d vs d-hat";
  p.y.min = 0;
  p.x.min = -0.5, p.x.max = 2.5;
  p.bars = true;
  p.series.push_back({"rising", {0, 1, 2}, {1, 2, 3}, {}, {}, {}});
  p.series.push_back({"falling", {0, 1, 2}, {3, 2, 1}, {}, {}, {}});
  const auto draw = [](const LinePlot& f) {
    QImage img(600, 400, QImage::Format_RGB32);
    img.fill(Qt::white);
    QPainter painter(&img);
    ps::render::render(f, painter, QRectF(0, 0, 600, 400));
    painter.end();
    return img;
  };
  const QImage img = draw(p);
  const QColor c0 = ps::render::series_color(0), c1 = ps::render::series_color(1);
  const double n0 = double(count_near(img, c0, 2)), n1 = double(count_near(img, c1, 2));
  ASSERT_GT(n0, 5000);
  EXPECT_NEAR(n0 / n1, 1.0, 0.1);  // equal sums of values, equal areas
  // The highest pixel of each colour in the left and right thirds: rising is tallest on the right.
  const auto top = [&](QColor c, int x0, int x1) {
    for (int y = 0; y < img.height(); ++y)
      for (int x = x0; x < x1; ++x) {
        const QColor q = img.pixelColor(x, y);
        if (std::abs(q.red() - c.red()) <= 2 && std::abs(q.green() - c.green()) <= 2 && std::abs(q.blue() - c.blue()) <= 2)
          return y;
      }
    return img.height();
  };
  EXPECT_LT(top(c0, 400, 600), top(c0, 0, 200));
  EXPECT_LT(top(c1, 0, 200), top(c1, 400, 600));
  // The same data as lines covers far fewer pixels; the JSON says which it was.
  LinePlot lines_only = p;
  lines_only.bars = false;
  EXPECT_LT(double(count_near(draw(lines_only), c0, 2)), n0 / 4);
  EXPECT_NE(to_json(p).find("\"bars\": true"), std::string::npos);
}

TEST(Render, BadSizesAreInputErrors) {
  ps::render::SaveOptions o;
  o.dpi = 5;
  EXPECT_THROW(ps::render::save_figure(lines(), out_dir("bad") + "/x", o), ps::InputError);
  o.dpi = 300;
  o.width_in = 0.1;
  EXPECT_THROW(ps::render::save_figure(lines(), out_dir("bad") + "/x", o), ps::InputError);
}

}  // namespace
