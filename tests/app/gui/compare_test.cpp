// The live compare view on the offscreen platform with real Engines on tiny models: both sides shown for one
// snippet; a RoPE scaling or mask switched on one side changes that side's forward (pattern and lens) and not
// the other's; the encoder's masked fillers; a parse error keeps the last good panels; every panel exports
// through the plot renderer; save-to-corpus appends a record the corpus reader reads back.
#include <gtest/gtest.h>

#include <QCheckBox>
#include <QImage>
#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QSpinBox>
#include <QSvgRenderer>
#include <QTabWidget>
#include <QTableWidget>
#include <QTest>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "analysis/plot/table.h"
#include "analysis/live/live_figures.h"
#include "app/gui/compare_side.h"
#include "app/gui/compare_view.h"
#include "app/gui/figure_view.h"
#include "app/gui/lens_panel.h"
#include "app/gui/main_window.h"
#include "app/gui/scratchpad.h"
#include "app/gui/session.h"
#include "data/corpus/load.h"
#include "models/util/files.h"
#include "tests/app/gui/gui_fixture.h"
#include "tests/data/extract/extract_fixture.h"
#include "tests/models/transformer/tiny_models.h"

namespace ps::gui {
namespace {

namespace fx = ps::extract::testing;
using ps::test::Tiny;

const char* kCode = "def add(a, b):\n    total = a + b\n    return total\n";

// A tiny model of `kind` with the extraction fixture's byte-level BPE (vocab 280 covers its ids); RoBERTa gets
// <s> </s> <mask> and its post-processor.
std::string tiny_dir(Tiny kind) {
  const std::string dir = fx::temp_dir(std::string("cmp-") + ps::test::tiny_name(kind));
  ps::test::TinyDims dims;
  dims.vocab = 280;
  dims.positions = 128;
  ps::test::write_model(dir, ps::test::tiny_spec(kind, 5, dims));
  auto t = nlohmann::json::parse(read_file(fx::tiny_model_dir() + "/tokenizer.json"));
  if (kind == Tiny::RoBERTa) {
    for (auto [id, text] : {std::pair{272, "<s>"}, std::pair{273, "</s>"}, std::pair{274, "<mask>"}})
      t["added_tokens"].push_back({{"id", id}, {"content", text}, {"single_word", false}, {"lstrip", false},
                                   {"rstrip", false}, {"normalized", false}, {"special", true}});
    t["post_processor"] = {{"type", "RobertaProcessing"}, {"sep", {"</s>", 273}}, {"cls", {"<s>", 272}},
                           {"trim_offsets", true}, {"add_prefix_space", false}};
  }
  write_file_atomic(dir + "/tokenizer.json", t.dump());
  return dir;
}

class CompareTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::ensure_app();
    view = std::make_unique<CompareView>(sel);
    view->resize(1400, 900);
  }
  void load(int side, const std::string& dir) {
    QSignalSpy spy(view.get(), &CompareView::modelLoaded);
    ASSERT_TRUE(view->loadModel(side, QString::fromStdString(dir), 1));
    ASSERT_TRUE(spy.wait(60000));
    ASSERT_TRUE(spy.at(0).at(1).toBool()) << spy.at(0).at(2).toString().toStdString();
  }
  void settle() { ASSERT_TRUE(QTest::qWaitFor([&] { return !view->busy(); }, 120000)); }
  // Block 0's pattern values of a side (the forward's own output).
  std::vector<float> pattern(int side) const { return view->result(side)->states.patterns.at(0).values; }
  std::vector<double> lens_probs(int side) const {
    std::vector<double> p;
    for (const auto& x : view->lens(side)->top) p.push_back(x.prob);
    return p;
  }

  Selection sel;
  std::unique_ptr<CompareView> view;
};

TEST_F(CompareTest, ShowsBothModelsSideBySide) {
  load(0, tiny_dir(Tiny::LLaMA));
  load(1, tiny_dir(Tiny::GPT2));
  sel.setLayer(1);
  view->setSnippet(kCode, syntax::Language::Python, 0);
  settle();
  ASSERT_NE(view->result(0), nullptr);
  EXPECT_EQ(view->result(1), nullptr);  // B is computed only when comparing
  view->compareBox()->click();
  EXPECT_TRUE(view->comparing());
  settle();
  for (int s = 0; s < 2; ++s) {
    ASSERT_NE(view->result(s), nullptr) << s;
    ASSERT_TRUE(view->result(s)->ok()) << view->result(s)->message;
    ASSERT_NE(view->lens(s), nullptr);
    const auto& t = *view->lens(s);
    EXPECT_EQ(t.rows(), 3);  // hidden_states 0..2 of the 2-layer models
    EXPECT_EQ(t.cols(), int64_t(view->result(s)->tokens.ids.size()));
    EXPECT_EQ(view->lensPanel(s)->grid()->rowCount(), 3);
    EXPECT_EQ(view->lensPanel(s)->grid()->columnCount(), t.cols());
    // The top cell row is the last layer; its hover lists the top k with probabilities.
    const auto* item = view->lensPanel(s)->grid()->item(0, 2);
    ASSERT_NE(item, nullptr);
    EXPECT_EQ(item->toolTip(), lens_cell_text(t, 2, 2));
    EXPECT_NE(item->toolTip().indexOf(QString::number(t.at(2, 2, 0).prob, 'f', 3)), -1);
    ASSERT_NE(view->attentionPanel(s)->view()->figure(), nullptr);
  }
  // Two different models: the same tokens, different predictions.
  EXPECT_EQ(view->result(0)->tokens.ids, view->result(1)->tokens.ids);
  EXPECT_NE(lens_probs(0), lens_probs(1));
  const auto* curves = view->curvesPanel()->view()->figure();
  ASSERT_NE(curves, nullptr);
  EXPECT_EQ(std::get<plot::LinePlot>(*curves).series.size(), 4u);  // AST attention + lens accuracy, per side
}

TEST_F(CompareTest, RopeScalingAndMaskSwitchOnlyTheirSidesForward) {
  const std::string dir = tiny_dir(Tiny::LLaMA);
  load(0, dir);
  load(1, dir);  // the same checkpoint on both sides: they start identical
  view->setCompare(true);
  view->setSnippet(kCode, syntax::Language::Python, 0);
  settle();
  const auto a0 = pattern(0), b0 = pattern(1);
  const auto la0 = lens_probs(0), lb0 = lens_probs(1);
  ASSERT_EQ(a0, b0);
  ASSERT_EQ(la0, lb0);

  ASSERT_TRUE(view->setRopeScaling(1, "linear:4"));
  settle();
  EXPECT_NE(pattern(1), b0);
  EXPECT_NE(lens_probs(1), lb0);
  EXPECT_EQ(pattern(0), a0);  // A untouched
  EXPECT_EQ(lens_probs(0), la0);

  ASSERT_TRUE(view->setMask(0, "lm-infinite:1:2"));
  settle();
  const auto& pa = view->result(0)->states.patterns.at(0);
  EXPECT_EQ(view->result(0)->states.mask, "lm-infinite:1:2");
  // Λ: query 6 sees key 0 (global) and keys 5..6 (local), nothing in between; each head's row sums to 1.
  for (int64_t h = 0; h < pa.heads; ++h) {
    EXPECT_EQ(pa.at(h, 6, 3), 0.0f);
    EXPECT_GT(pa.at(h, 6, 0), 0.0f);
    EXPECT_NEAR(pa.at(h, 6, 0) + pa.at(h, 6, 5) + pa.at(h, 6, 6), 1.0f, 1e-5);
  }
  EXPECT_NE(lens_probs(0), la0);
  EXPECT_NE(pattern(1), b0);  // B keeps its own scaling, default mask
  EXPECT_EQ(view->result(1)->states.mask, "default");

  // Bad specs are refused with the reason, and nothing changes.
  EXPECT_FALSE(view->setMask(1, "lm-infinite:x"));
  EXPECT_FALSE(view->lastError().isEmpty());
  EXPECT_FALSE(view->setRopeScaling(0, "yarn:four"));
  EXPECT_EQ(view->mask(1), "default");
  EXPECT_EQ(view->ropeScaling(0), "");
}

TEST_F(CompareTest, EncoderFillersFollowTheMaskedPositionAndParseErrorsKeepTheLastGoodState) {
  load(0, tiny_dir(Tiny::RoBERTa));
  view->setMaskedPosition(3);
  view->setSnippet(kCode, syntax::Language::Python, 0);
  settle();
  ASSERT_NE(view->lens(0), nullptr) << view->lastError().toStdString();
  EXPECT_TRUE(view->lens(0)->masked_lm);
  EXPECT_EQ(view->lens(0)->positions.at(0), 3);
  EXPECT_TRUE(view->lensPanel(0)->positionBox()->isVisibleTo(view.get()));
  view->lensPanel(0)->positionBox()->setValue(4);  // picking a position in the panel reruns the fillers
  settle();
  EXPECT_EQ(view->lens(0)->positions.at(0), 4);
  const auto& tokens = view->result(0)->tokens;
  EXPECT_EQ(view->lens(0)->input.at(0), "<mask>");
  const auto ids = tokens.ids;

  // A parse error: the message for the side, and the panels keep the last good snippet's state.
  view->setSnippet("def broken(:\n    return\n", syntax::Language::Python, 0);
  settle();
  EXPECT_FALSE(view->error(0).isEmpty());
  ASSERT_NE(view->result(0), nullptr);
  EXPECT_TRUE(view->result(0)->ok());
  EXPECT_EQ(view->result(0)->tokens.ids, ids);
  EXPECT_EQ(view->lensPanel(0)->grid()->rowCount(), 3);
  // Fixing the snippet clears it.
  view->setSnippet(kCode, syntax::Language::Python, 0);
  settle();
  EXPECT_TRUE(view->error(0).isEmpty());
}

TEST_F(CompareTest, ExportWritesValidFilesAndSaveAppendsARecord) {
  load(0, tiny_dir(Tiny::GPT2));
  view->setSnippet(kCode, syntax::Language::Python, 0);
  settle();
  const std::string dir = fx::temp_dir("cmp-export");
  const auto files = view->exportPanels(QString::fromStdString(dir + "/live"), "svg,png");
  ASSERT_FALSE(files.isEmpty()) << view->lastError().toStdString();
  int svg = 0, png = 0, csv = 0, json = 0;
  for (const QString& f : files) {
    const std::string p = f.toStdString();
    ASSERT_TRUE(std::filesystem::exists(p)) << p;
    if (f.endsWith(".svg")) {
      ++svg;
      EXPECT_TRUE(QSvgRenderer(f).isValid()) << p;
    }
    if (f.endsWith(".png")) {
      ++png;
      EXPECT_FALSE(QImage(f).isNull()) << p;
    }
    if (f.endsWith(".json")) {
      ++json;
      EXPECT_NO_THROW((void)nlohmann::json::parse(read_file(p))) << p;
    }
    if (f.endsWith(".csv")) {
      ++csv;
      EXPECT_NO_THROW((void)plot::read_csv_file(p)) << p;
    }
  }
  EXPECT_EQ(svg, 5);  // attention, trees, d̂, lens, by-layer curves
  EXPECT_EQ(png, 5);
  EXPECT_EQ(json, 5);
  EXPECT_EQ(csv, 6);  // the five figures' data + the lens's full table
  const auto table = plot::read_csv_file(dir + "/live_lens_A.table.csv");
  EXPECT_EQ(int64_t(table.rows.size()), view->lens(0)->rows() * view->lens(0)->cols() * view->lens(0)->k);

  const std::string corpus = dir + "/mine.jsonl";
  const QString id = view->saveSnippet(QString::fromStdString(corpus));
  ASSERT_FALSE(id.isEmpty()) << view->lastError().toStdString();
  EXPECT_TRUE(view->saveSnippet(QString::fromStdString(corpus), id).isEmpty());  // the same id twice: refused
  const auto loaded = corpus::load(corpus);
  ASSERT_EQ(loaded.snippets.size(), 1u);
  EXPECT_EQ(loaded.snippets[0].code, kCode);
  EXPECT_EQ(loaded.snippets[0].language, "python");
  EXPECT_EQ(loaded.snippets[0].id, id.toStdString());
}

// Side B shows the probe-tree and d̂ panels too: with side A's probes while it has none of its own, then with its
// own results.csv; another layer is another probe, so both sides rerun.
TEST_F(CompareTest, BothSidesShowTheProbesTreeAndDistances) {
  const auto& f = testing::fixture();  // a tiny GPT-2 with AST-Probes (k 4 and 8) fitted on its store
  load(0, f.model);
  load(1, f.model);
  Session a;
  ASSERT_EQ(a.add_results(f.results_csv), "probe");
  view->setProbeSession(0, &a);
  sel.setLayer(1);
  view->setCompare(true);
  view->setSnippet(kCode, syntax::Language::Python, 0);
  settle();
  for (int s = 0; s < 2; ++s) {
    const auto* r = view->result(s);
    ASSERT_TRUE(r && r->ok()) << s;
    ASSERT_TRUE(r->probe.has_value()) << "side " << s << " ran without a probe";
    EXPECT_EQ(r->probe->layer, 1);
    const auto* trees = view->treePanel(s)->view()->figure();
    ASSERT_NE(trees, nullptr) << s;
    const auto want = live::trees_figure(*r);
    EXPECT_EQ(std::get<plot::TreePair>(*trees).predicted_title, want.predicted_title);
    const auto* d = view->distancePanel(s)->view()->figure();
    ASSERT_NE(d, nullptr) << s;
    const auto& lines = std::get<plot::LinePlot>(*d);
    ASSERT_EQ(lines.series.size(), 2u);  // gold d and d̂
    EXPECT_EQ(lines.series[1].y, r->probe->d_hat);
  }
  // B has no probes of its own: A's file, and the same model recovers the same distances.
  EXPECT_EQ(view->result(1)->probe->path, view->result(0)->probe->path);
  EXPECT_EQ(view->result(1)->probe->d_hat, view->result(0)->probe->d_hat);
  sel.setLayer(2);
  settle();
  for (int s = 0; s < 2; ++s) {
    ASSERT_TRUE(view->result(s)->probe.has_value()) << s;
    EXPECT_EQ(view->result(s)->probe->layer, 2) << s;
  }
  // B's own results: a file without probes is refused with the reason; a sweep's results.csv is used.
  EXPECT_FALSE(view->setResults(1, QString::fromStdString(fx::temp_dir("cmp-nores") + "/none.csv")));
  EXPECT_FALSE(view->lastError().isEmpty());
  ASSERT_TRUE(view->setResults(1, QString::fromStdString(f.results_csv))) << view->lastError().toStdString();
  settle();
  ASSERT_TRUE(view->result(1)->probe.has_value());
  EXPECT_EQ(view->result(1)->probe->layer, 2);
  // Side by side: the panel picked on one side is shown on the other.
  view->side(0)->tabs()->setCurrentIndex(2);
  EXPECT_EQ(view->side(1)->tabs()->currentIndex(), 2);
  view->side(1)->tabs()->setCurrentIndex(1);
  EXPECT_EQ(view->side(0)->tabs()->currentIndex(), 1);
}

// The main window's Compare page: side A is the window's model, fed the scratchpad's text while shown.
TEST(CompareWindow, ThePageAnalysesTheScratchpadsSnippetWithTheWindowsModel) {
  testing::ensure_app();
  MainWindow w;
  w.setDialogsEnabled(false);
  ASSERT_TRUE(w.openModel(QString::fromStdString(tiny_dir(Tiny::LLaMA)))) << w.lastError().toStdString();
  auto* cmp = w.compareView();
  ASSERT_NE(cmp, nullptr);
  ASSERT_TRUE(cmp->hasModel(0));
  w.scratchpad()->editor()->setPlainText(kCode);  // typed while the page is hidden: not analysed here
  EXPECT_EQ(cmp->result(0), nullptr);
  w.showPage(3);
  ASSERT_TRUE(QTest::qWaitFor([&] { return !cmp->busy() && cmp->result(0); }, 120000));
  ASSERT_TRUE(cmp->result(0)->ok()) << cmp->result(0)->message;
  EXPECT_EQ(cmp->lens(0)->cols(), int64_t(cmp->result(0)->tokens.ids.size()));
}

// The window's opened sweep is side A's probe source (and B's while B has none): both sides show the tree.
TEST(CompareWindow, TheWindowsProbesReachBothSides) {
  testing::ensure_app();
  const auto& f = testing::fixture();
  MainWindow w;
  w.setDialogsEnabled(false);
  ASSERT_TRUE(w.openModel(QString::fromStdString(f.model))) << w.lastError().toStdString();
  ASSERT_TRUE(w.openResults(QString::fromStdString(f.results_csv))) << w.lastError().toStdString();
  auto* cmp = w.compareView();
  cmp->setModel(1, cmp->model(0));
  cmp->setCompare(true);
  w.selection().setLayer(1);
  w.showPage(3);
  w.scratchpad()->editor()->setPlainText(kCode);
  ASSERT_TRUE(QTest::qWaitFor([&] { return !cmp->busy() && cmp->result(0) && cmp->result(1); }, 120000));
  for (int s = 0; s < 2; ++s) {
    ASSERT_TRUE(cmp->result(s)->ok()) << cmp->result(s)->message;
    EXPECT_TRUE(cmp->result(s)->probe.has_value()) << s;
  }
}

}  // namespace
}  // namespace ps::gui
