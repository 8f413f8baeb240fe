// Widget tests: open a tiny model, store and probe results in the main window; move the layer slider and
// check the tree and F1 shown are that layer's probe; click a token; export every view; corrupt inputs.
#include <gtest/gtest.h>

#include <QFile>
#include <QImage>
#include <QLabel>
#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QSlider>
#include <QSvgRenderer>
#include <QTest>
#include <QTextBlock>
#include <cmath>
#include <filesystem>
#include <set>
#include <fstream>

#include "analysis/plot/export.h"
#include "data/corpus/load.h"
#include "analysis/plot/probe_trees.h"
#include "analysis/plot/trees.h"
#include "app/gui/curves.h"
#include "app/gui/explorer.h"
#include "app/gui/figure_view.h"
#include "app/gui/main_window.h"
#include "app/gui/snippet_view.h"
#include "app/render/render.h"
#include "data/store/reader.h"
#include "probes/ast_probe.h"
#include "probes/show.h"
#include "tests/app/gui/gui_fixture.h"

namespace ps::gui {
namespace {

using testing::fixture;
namespace fs = std::filesystem;

class GuiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::ensure_app();
    w = std::make_unique<MainWindow>();
    w->setDialogsEnabled(false);
    w->resize(1200, 800);
  }
  void open_all() {
    const auto& f = fixture();
    ASSERT_TRUE(w->openModel(QString::fromStdString(f.model))) << w->lastError().toStdString();
    ASSERT_TRUE(w->openStore(QString::fromStdString(f.store))) << w->lastError().toStdString();
    ASSERT_TRUE(w->openResults(QString::fromStdString(f.results_csv))) << w->lastError().toStdString();
  }
  std::unique_ptr<MainWindow> w;
};

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(GuiFigureHit, NearestPointWithinDistance) {
  ps::render::DrawnPoints d;
  d.points = {{0, 0, QPointF(10, 10)}, {1, 3, QPointF(50, 10)}};
  ASSERT_NE(ps::render::nearest_point(d, QPointF(47, 12), 5), nullptr);
  EXPECT_EQ(ps::render::nearest_point(d, QPointF(47, 12), 5)->index, 3);
  EXPECT_EQ(ps::render::nearest_point(d, QPointF(30, 30), 5), nullptr);
}

TEST_F(GuiTest, SliderShowsEachLayersProbeTreeAndF1) {
  open_all();
  auto* ex = w->explorer();
  const auto& st = *w->session().store();
  ASSERT_EQ(w->session().layers(), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(ex->slider()->minimum(), 0);
  EXPECT_EQ(ex->slider()->maximum(), 2);
  ex->setSnippet(3);
  ex->slider()->setValue(0);
  std::set<std::string> trees;
  for (int layer = 0; layer <= 2; ++layer) {
    if (layer > 0) QTest::keyClick(ex->slider(), Qt::Key_Right);  // the user's way of moving it
    ASSERT_EQ(ex->layer(), layer);
    ASSERT_TRUE(ex->probe().has_value()) << ex->f1Label()->text().toStdString();
    EXPECT_EQ(ex->probe()->layer, layer);
    EXPECT_EQ(ex->probe()->k, 8);  // the largest k by default
    // What the panel shows equals the library's own answer for this layer's probe file.
    const auto probe = probes::load_ast_probe(ex->probe()->probe_path);
    EXPECT_EQ(probe.layer, layer);
    const auto code = corpus::find(fixture().corpus, st.id(3)).code;
    const auto words = probes::word_texts(code, st.words(3).spans);
    const auto v = probes::predict_snippet(st, probe, 3, &words);
    const auto expect = plot::tree_pair(plot::plot_tree(v.gold, v.tokens), plot::plot_tree(v.predicted, v.tokens));
    const auto* shown = ex->treePanel()->view()->figure();
    ASSERT_NE(shown, nullptr);
    ASSERT_TRUE(std::holds_alternative<plot::TreePair>(*shown));
    EXPECT_EQ(plot::to_csv(*shown), plot::to_csv(plot::FigureSpec(expect)));
    trees.insert(plot::to_csv(*shown));
    const QString label = ex->f1Label()->text();
    EXPECT_TRUE(label.startsWith(QString("layer %1 ").arg(layer))) << label.toStdString();
    EXPECT_TRUE(label.contains(QString("snippet F1 %1").arg(v.prf.f1, 0, 'f', 3))) << label.toStdString();
    EXPECT_TRUE(label.contains(QString("test F1 (macro) %1").arg(ex->probe()->f1, 0, 'f', 3)));
    // Gold leaves are the snippet's words.
    EXPECT_EQ(plot::num_leaves(std::get<plot::TreePair>(*shown).gold), int(words.size()));
  }
  // Reopening the same results replaces them (no doubled rows).
  const size_t rows = w->session().probe_rows().size();
  ASSERT_TRUE(w->openResults(QString::fromStdString(fixture().results_csv)));
  EXPECT_EQ(w->session().probe_rows().size(), rows);
  // A smaller k is a different probe file.
  const auto k8 = ex->probe()->probe_path;
  EXPECT_EQ(w->session().probe_ks(), (std::vector<int>{4, 8}));
  EXPECT_NE(w->session().probe_row(2, 4)->probe_path, k8);
}

TEST_F(GuiTest, AttentionAndMaskViewsFollowLayerAndHead) {
  open_all();
  auto* ex = w->explorer();
  ex->setLayer(0);
  EXPECT_EQ(ex->attentionPanel()->view()->figure(), nullptr);  // embeddings: no attention
  EXPECT_TRUE(ex->attentionPanel()->view()->placeholder().contains("embedding"));
  ex->setLayer(2);
  const auto* f = ex->attentionPanel()->view()->figure();
  ASSERT_NE(f, nullptr);
  const plot::Heatmap h = std::get<plot::Heatmap>(*f);  // a copy: the view replaces its figure
  const auto n = w->session().store()->tokens(ex->snippet()).input_ids.size();
  EXPECT_EQ(h.rows, int64_t(n));
  EXPECT_EQ(h.row_labels.size(), n);
  ex->setHead(1);
  const auto& h1 = std::get<plot::Heatmap>(*ex->attentionPanel()->view()->figure());
  EXPECT_NE(h1.values, h.values);
  EXPECT_TRUE(h1.title.find("head 1") != std::string::npos) << h1.title;
  // Zoom grows the view for long inputs.
  ex->attentionPanel()->setZoom(3);
  EXPECT_DOUBLE_EQ(ex->attentionPanel()->zoom(), 3);
  ex->setMaskMode("window:4");
  const auto& m = std::get<plot::MaskFigure>(*ex->maskPanel()->view()->figure());
  ASSERT_EQ(m.panels.size(), 1u);
  EXPECT_EQ(m.panels[0].n, std::min<int64_t>(int64_t(n), 128));
  EXPECT_EQ(m.panels[0].allowed[size_t(m.panels[0].n) * 5 + 1], 0);  // query 5 cannot see key 1 (window 4)
  EXPECT_EQ(m.panels[0].allowed[size_t(m.panels[0].n) * 5 + 2], 1);
  ex->setMaskMode("lm-infinite:2:4");  // the distance cap is drawn: keys 0, 1 seen from distance >= 4
  const auto& lm = std::get<plot::MaskFigure>(*ex->maskPanel()->view()->figure()).panels.at(0);
  ASSERT_EQ(lm.capped.size(), size_t(lm.n * lm.n));
  EXPECT_EQ(lm.capped[size_t(lm.n) * 5 + 1], 1);
  EXPECT_EQ(lm.capped[size_t(lm.n) * 5 + 2], 0);  // key 2 is no global key: local band
  EXPECT_EQ(lm.capped[size_t(lm.n) * 4 + 1], 0);  // distance 3: local band
  ex->setMaskMode("no-such-mode");
  EXPECT_EQ(ex->maskPanel()->view()->figure(), nullptr);
}

TEST_F(GuiTest, ClickingATokenShowsSubwordsAndAstPath) {
  open_all();
  w->explorer()->setSnippet(2);
  auto* sv = w->snippetView();
  const auto& st = *w->session().store();
  const auto words = st.words(2);
  const auto toks = st.tokens(2);
  ASSERT_GT(words.spans.size(), 2u);
  EXPECT_TRUE(sv->editor()->toPlainText().startsWith("def f2(")) << sv->editor()->toPlainText().toStdString();
  // Tree-sitter colours: "def" is a keyword range at position 0.
  bool keyword_at_0 = false;
  for (const auto& r : sv->highlighter()->ranges()) keyword_at_0 |= r.begin == 0 && r.end == 3 && r.format.fontWeight() == QFont::Bold;
  EXPECT_TRUE(keyword_at_0);
  // Click inside word 1 ("f2") where the editor draws it.
  const int pos = sv->charPosition(words.spans[1].begin) + 1;
  QTextCursor c(sv->editor()->document());
  c.setPosition(pos);
  sv->editor()->show();
  const QRect r = sv->editor()->cursorRect(c);
  QTest::mouseClick(sv->editor()->viewport(), Qt::LeftButton, {}, r.center());
  const QString info = sv->infoText();
  EXPECT_TRUE(info.contains("word 1: f2")) << info.toStdString();
  const auto& sub = words.subwords[1];
  for (int64_t t = sub.begin; t < sub.end; ++t) EXPECT_TRUE(info.contains(QString("[%1 ").arg(toks.input_ids[size_t(t)]))) << info.toStdString();
  EXPECT_TRUE(info.contains("AST path: module › function_definition › identifier")) << info.toStdString();
  // A keyword inside the body: "return" sits under return_statement.
  const int ret = int(sv->editor()->toPlainText().indexOf("return"));
  sv->showPosition(ret + 2);
  EXPECT_TRUE(sv->infoText().contains("return_statement › return")) << sv->infoText().toStdString();
}

TEST_F(GuiTest, ExportWritesValidPdfSvgPngAndCsv) {
  open_all();
  w->explorer()->setLayer(1);
  const std::string dir = testing::temp_dir("export");
  struct Case { const char* name; FigureView* view; };
  const Case cases[] = {{"trees", w->explorer()->treePanel()->view()},
                        {"attention", w->explorer()->attentionPanel()->view()},
                        {"mask", w->explorer()->maskPanel()->view()},
                        {"f1", w->curves()->panel(0)->view()}};
  for (const auto& c : cases) {
    ASSERT_NE(c.view->figure(), nullptr) << c.name;
    const std::string base = dir + "/" + c.name;
    const QStringList out = w->exportView(QString::fromStdString(base), "pdf,svg,png", c.view);
    ASSERT_EQ(out.size(), 5) << c.name << ": " << w->lastError().toStdString();
    EXPECT_EQ(read_all(base + ".pdf").substr(0, 5), "%PDF-") << c.name;
    QSvgRenderer svg(QString::fromStdString(base + ".svg"));
    EXPECT_TRUE(svg.isValid()) << c.name;
    const QImage png(QString::fromStdString(base + ".png"));
    ASSERT_FALSE(png.isNull()) << c.name;
    ps::render::SaveOptions o;
    o.width_in = std::string(c.name) == "f1" ? plot::kOneColumnInches : plot::kTwoColumnInches;
    EXPECT_EQ(png.width(), int(std::lround(o.width_in * 300))) << c.name;
    EXPECT_NEAR(png.height(), ps::render::figure_height(*c.view->figure(), o) * 300, 1.5) << c.name;
    const std::string csv = read_all(base + ".csv");
    EXPECT_GE(std::count(csv.begin(), csv.end(), '\n'), 3) << c.name;
    EXPECT_EQ(csv, plot::to_csv(*c.view->figure())) << c.name;
  }
  // Nothing drawn: an error, no files.
  w->explorer()->setMaskMode("bad");
  EXPECT_TRUE(w->exportView(QString::fromStdString(dir + "/none"), "png", w->explorer()->maskPanel()->view()).isEmpty());
  EXPECT_FALSE(w->lastError().isEmpty());
}

TEST_F(GuiTest, CurvesHoverAndClickMoveTheExplorer) {
  open_all();
  w->explorer()->setLayer(0);
  auto* view = w->curves()->panel(0)->view();
  view->resize(640, 420);
  view->grab();  // paints, recording where points are drawn
  const auto& lp = std::get<plot::LinePlot>(*view->figure());
  ASSERT_EQ(lp.series.size(), 2u);  // k = 4 and k = 8
  const QPoint at = view->pointPosition(0, 2);
  ASSERT_GE(at.x(), 0);
  const auto* hit = view->pointAt(at + QPoint(2, 1));
  ASSERT_NE(hit, nullptr);
  EXPECT_TRUE(view->pointText(*hit).contains("layer = 2")) << view->pointText(*hit).toStdString();
  QTest::mouseClick(view, Qt::LeftButton, {}, at);
  EXPECT_EQ(w->explorer()->layer(), 2);
  EXPECT_EQ(w->currentView(), w->explorer()->currentView());
  // F1 by k follows the explorer's layer.
  const auto& byk = std::get<plot::LinePlot>(*w->curves()->panel(1)->view()->figure());
  EXPECT_TRUE(byk.title.find("layer 2") != std::string::npos);
  EXPECT_EQ(byk.series[0].x, (std::vector<double>{4, 8}));
}

TEST_F(GuiTest, CorruptStoreAndBrokenModelAreReportedAndTheWindowKeepsWorking) {
  open_all();
  const std::string dir = testing::temp_dir("corrupt");
  const std::string bad = dir + "/truncated.h5";
  fs::copy_file(fixture().store, bad);
  fs::resize_file(bad, fs::file_size(bad) / 3);
  EXPECT_FALSE(w->openStore(QString::fromStdString(bad)));
  EXPECT_TRUE(w->lastError().contains("truncated.h5")) << w->lastError().toStdString();
  EXPECT_EQ(w->session().store()->path(), fixture().store);  // the good store is still open
  w->explorer()->setLayer(1);
  EXPECT_TRUE(w->explorer()->probe().has_value());
  w->clearLastError();
  EXPECT_FALSE(w->openStore(QString::fromStdString(dir + "/missing.h5")));
  EXPECT_FALSE(w->lastError().isEmpty());

  const std::string model = dir + "/model";
  fs::create_directories(model);
  fs::copy_file(fixture().model + "/tokenizer.json", model + "/tokenizer.json");
  { std::ofstream(model + "/config.json") << "{\"model_type\": \"gpt2\", \"n_embd\": "; }
  w->clearLastError();
  EXPECT_FALSE(w->openModel(QString::fromStdString(model)));
  EXPECT_TRUE(w->lastError().contains("config.json")) << w->lastError().toStdString();
  EXPECT_EQ(w->session().model().dir, fixture().model);
  EXPECT_FALSE(w->openResults(QString::fromStdString(model + "/tokenizer.json")));
  // Still usable: a real store opens afterwards.
  EXPECT_TRUE(w->openStore(QString::fromStdString(fixture().store)));
  EXPECT_TRUE(w->recentFiles().contains(QString("store:") + QString::fromStdString(fs::absolute(fixture().store).string())));
}

}  // namespace
}  // namespace ps::gui
