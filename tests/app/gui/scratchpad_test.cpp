// The scratchpad on the offscreen platform with the real Engine (tiny GPT-2), real Tree-sitter and the fixture's
// fitted AST-Probes: type a snippet and check the tree, tokens and attention shown against live::analyze; switch
// the mask; a bad snippet's inline error with the panels at their last good state; cancel a forward; a long
// input's attention band.
#include <gtest/gtest.h>

#include <QLabel>
#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QTest>
#include <cmath>

#include "analysis/live/live.h"
#include "analysis/plot/export.h"
#include "app/gui/figure_view.h"
#include "app/gui/live_panels.h"
#include "app/gui/main_window.h"
#include "app/gui/scratchpad.h"
#include "app/gui/snippet_view.h"
#include "probes/ast_probe.h"
#include "tests/app/gui/gui_fixture.h"

namespace ps::gui {
namespace {

using testing::fixture;

class ScratchpadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::ensure_app();
    w = std::make_unique<MainWindow>();
    w->setDialogsEnabled(false);
    w->resize(1400, 900);
    const auto& f = fixture();
    ASSERT_TRUE(w->openModel(QString::fromStdString(f.model))) << w->lastError().toStdString();
    ASSERT_TRUE(w->openResults(QString::fromStdString(f.results_csv))) << w->lastError().toStdString();
    pad = w->scratchpad();
    w->showPage(2);
    w->show();
  }
  // Waits for the newest run's result (the debounce included); false if none came.
  bool wait_result() {
    QSignalSpy spy(&pad->runner(), &LiveRunner::finished);
    return spy.wait(60000);
  }
  // What the panels must show: the core's own analysis of the same request.
  live::LiveResult reference(const std::string& code, const std::string& mask = "default", int64_t first = 0, int64_t rows = 0) {
    live::LiveRequest r;
    r.code = code;
    r.forward.mask = mask;
    r.forward.pattern_first_row = first, r.forward.pattern_rows = rows;
    const auto row = w->session().probe_row(w->selection().layer(), w->selection().k());
    if (row) r.probe = &w->session().load_probe(row->probe_path), r.probe_k = row->k;
    return live::analyze(*w->session().live_model(), r);
  }
  const plot::Heatmap& heatmap() {
    const auto* h = std::get_if<plot::Heatmap>(pad->panels()->attentionPanel()->view()->figure());
    EXPECT_NE(h, nullptr);
    return *h;
  }
  std::unique_ptr<MainWindow> w;
  Scratchpad* pad = nullptr;
};

const char* kCode = "def add(a, b):\n    return a + b\n";

void type(QPlainTextEdit* e, const std::string& code) {
  e->setFocus();
  size_t at = 0;
  for (;;) {
    const size_t nl = code.find('\n', at);
    QTest::keyClicks(e, QString::fromStdString(code.substr(at, nl == std::string::npos ? std::string::npos : nl - at)));
    if (nl == std::string::npos) break;
    QTest::keyClick(e, Qt::Key_Return);
    at = nl + 1;
  }
}

TEST_F(ScratchpadTest, TypingShowsTheTreeTokensAndAttention) {
  w->selection().setLayer(2);
  type(pad->editor(), kCode);
  ASSERT_EQ(pad->editor()->toPlainText().toStdString(), kCode);
  ASSERT_TRUE(wait_result());
  const auto ref = reference(kCode);
  ASSERT_TRUE(ref.ok()) << ref.message;
  ASSERT_NE(pad->panels()->result(), nullptr);
  // Tokens: each subword's text, a boundary mark before each word's first subword.
  QString expected;
  for (size_t i = 0; i < ref.tokens.ids.size(); ++i)
    expected += (ref.tokens.word_start[i] ? QString("│") : QString()) + QString::fromStdString(ref.tokens.texts[i]) + " ";
  EXPECT_EQ(pad->tokensText().simplified().toStdString(), expected.simplified().toStdString());
  EXPECT_EQ(std::count(ref.tokens.word_start.begin(), ref.tokens.word_start.end(), 1), int64_t(ref.tokens.words.size()));
  // Tree: the gold leaves are the words; the probe of layer 2 drew its own tree.
  const auto* trees = std::get_if<plot::TreePair>(pad->panels()->treePanel()->view()->figure());
  ASSERT_NE(trees, nullptr);
  std::vector<std::string> leaves;
  for (const auto& n : trees->gold.nodes)
    if (n.leaf) leaves.push_back(n.label);
  EXPECT_EQ(leaves, ref.tokens.words);
  ASSERT_TRUE(ref.probe.has_value());
  EXPECT_NE(trees->predicted_title.find("layer 2"), std::string::npos) << trees->predicted_title;
  const auto* dist = std::get_if<plot::LinePlot>(pad->panels()->distancePanel()->view()->figure());
  ASSERT_NE(dist, nullptr);
  ASSERT_EQ(dist->series.size(), 2u);
  for (size_t i = 0; i < ref.probe->d_hat.size(); ++i) EXPECT_NEAR(dist->series[1].y[i], ref.probe->d_hat[i], 1e-6);
  // Attention: layer 2 is block 1, the head mean, equal to the core's pattern; hover shows a cell's value.
  const auto& h = heatmap();
  const auto& p = ref.states.patterns.at(1);
  ASSERT_EQ(h.rows, p.rows);
  ASSERT_EQ(h.cols, p.keys);
  for (int64_t q = 0; q < p.rows; ++q)
    for (int64_t k = 0; k < p.keys; ++k) {
      double mean = 0;
      for (int64_t hd = 0; hd < p.heads; ++hd) mean += p.at(hd, q, k);
      ASSERT_NEAR(h.values[size_t(q * p.keys + k)], mean / double(p.heads), 1e-6);
    }
  pad->panels()->tabs()->setCurrentIndex(2);
  QApplication::processEvents();
  pad->panels()->attentionPanel()->view()->repaint();
  const QPoint cell = pad->panels()->attentionPanel()->view()->cellPosition(3, 1);
  ASSERT_GE(cell.x(), 0);
  const std::string tip = pad->panels()->attentionPanel()->view()->cellText(cell).toStdString();
  EXPECT_NE(tip.find("query 3"), std::string::npos) << tip;
  EXPECT_NE(tip.find("key 1"), std::string::npos) << tip;
  EXPECT_NE(tip.find(plot::number_text(h.values[size_t(3 * h.cols + 1)])), std::string::npos) << tip;
  EXPECT_FALSE(pad->panels()->astFractionLabel()->text().isEmpty());
  // The layer slider moves the attention to block 0 at once.
  w->selection().setLayer(1);
  EXPECT_NEAR(heatmap().values[0], [&] { double m = 0; for (int64_t hd = 0; hd < p.heads; ++hd) m += ref.states.patterns[0].at(hd, 0, 0); return m / double(p.heads); }(), 1e-6);
}

TEST_F(ScratchpadTest, SwitchingTheMaskChangesThePattern) {
  w->selection().setLayer(1);
  w->selection().setHead(0);
  pad->setCode(kCode);
  ASSERT_TRUE(wait_result());
  const auto before = heatmap().values;
  pad->setMask("window:2");
  ASSERT_TRUE(wait_result());
  const auto& h = heatmap();
  ASSERT_EQ(h.values.size(), before.size());
  double diff = 0;
  for (int64_t q = 0; q < h.rows; ++q)
    for (int64_t k = 0; k < h.cols; ++k) {
      if (k > q || q - k >= 2) EXPECT_EQ(h.values[size_t(q * h.cols + k)], 0.0);
      diff = std::max(diff, std::abs(h.values[size_t(q * h.cols + k)] - before[size_t(q * h.cols + k)]));
    }
  EXPECT_GT(diff, 1e-3);
  const auto ref = reference(kCode, "window:2");
  for (size_t i = 0; i < h.values.size(); ++i) ASSERT_NEAR(h.values[i], ref.states.patterns[0].values[i], 1e-6);
  EXPECT_NE(pad->statusLabel()->text().toStdString().find("window:2"), std::string::npos);
}

TEST_F(ScratchpadTest, ABadSnippetShowsAnInlineErrorAndKeepsTheLastGoodPanels) {
  pad->setCode(kCode);
  ASSERT_TRUE(wait_result());
  const auto* good = pad->panels()->result();
  const auto tokens = pad->tokensText();
  const auto values = heatmap().values;
  pad->setCode("def broken(:\n    return )\n");
  ASSERT_TRUE(wait_result());
  EXPECT_NE(pad->errorLabel()->text().toStdString().find("syntax error"), std::string::npos)
      << pad->errorLabel()->text().toStdString();
  EXPECT_FALSE(pad->highlighter()->ranges().empty());  // ERROR marked in the text
  EXPECT_EQ(pad->highlighter()->ranges()[0].format.underlineStyle(), QTextCharFormat::WaveUnderline);
  EXPECT_EQ(pad->panels()->result(), good);
  EXPECT_EQ(pad->tokensText(), tokens);
  EXPECT_EQ(heatmap().values, values);
  // The rest of the window keeps working: the store opens and the explorer follows it.
  ASSERT_TRUE(w->openStore(QString::fromStdString(fixture().store))) << w->lastError().toStdString();
  EXPECT_TRUE(w->snippetView()->editor()->toPlainText().size() > 0);
  // Fixing the snippet clears the error and updates the panels.
  pad->setCode("def fixed(a):\n    return a\n");
  ASSERT_TRUE(wait_result());
  EXPECT_TRUE(pad->errorLabel()->text().isEmpty());
  EXPECT_NE(pad->panels()->result(), good);
  EXPECT_TRUE(pad->highlighter()->ranges().empty());
}

TEST_F(ScratchpadTest, CancellingAForwardDropsItsResult) {
  pad->setCode(kCode);
  ASSERT_TRUE(wait_result());
  const auto* good = pad->panels()->result();
  std::string code = "def long(x):\n";
  for (int k = 0; k < 40; ++k) code += "    x = x * " + std::to_string(k) + "\n";
  pad->editor()->blockSignals(true);  // no debounce: this test starts the run itself
  pad->editor()->setPlainText(QString::fromStdString(code));
  pad->editor()->blockSignals(false);
  QSignalSpy cancelled(&pad->runner(), &LiveRunner::cancelled);
  QSignalSpy finished(&pad->runner(), &LiveRunner::finished);
  pad->analyzeNow();
  EXPECT_TRUE(pad->runner().busy());
  pad->cancel();
  ASSERT_TRUE(cancelled.wait(60000));
  EXPECT_EQ(finished.count(), 0);
  EXPECT_EQ(pad->panels()->result(), good);
  EXPECT_FALSE(pad->runner().busy());
  // A newer run supersedes an older one: only the last result arrives.
  pad->analyzeNow();
  pad->setCode(kCode);
  pad->analyzeNow();
  ASSERT_TRUE(wait_result());
  EXPECT_EQ(pad->panels()->result()->parse.code, std::string(kCode));
}

TEST_F(ScratchpadTest, ALongInputIsDrawnBandByBand) {
  std::string code = "def long(x):\n";
  for (int k = 0; k < 20; ++k) code += "    x = x + " + std::to_string(k) + "\n";
  code += "    return x\n";
  w->selection().setLayer(1);
  w->selection().setHead(-1);
  pad->setBand(120, 10);
  pad->setCode(QString::fromStdString(code));
  ASSERT_TRUE(wait_result());
  const auto* r = pad->panels()->result();
  ASSERT_NE(r, nullptr) << pad->errorLabel()->text().toStdString();
  const int64_t n = int64_t(r->tokens.ids.size());
  const auto texts = r->tokens.texts;  // the next result replaces *r
  ASSERT_GT(n, 200);
  for (const auto& p : r->states.patterns) {
    EXPECT_EQ(p.first_row, 120);
    EXPECT_EQ(p.rows, 10);
    EXPECT_EQ(p.values.size(), size_t(p.heads * 10 * n));  // a band is held, never n x n
  }
  const auto& h = heatmap();
  ASSERT_EQ(h.rows, 10);
  ASSERT_EQ(h.cols, n);
  EXPECT_EQ(h.row_labels.front(), r->tokens.texts[120]);
  const auto full = reference(code);  // the whole pattern of the same input
  const auto& f = full.states.patterns[0];
  for (int64_t q = 0; q < 10; ++q)
    for (int64_t k = 0; k < n; ++k) {
      double mean = 0;
      for (int64_t hd = 0; hd < f.heads; ++hd) mean += f.at(hd, 120 + q, k);
      ASSERT_NEAR(h.values[size_t(q * n + k)], mean / double(f.heads), 1e-6);
    }
  // Scrolling the band redraws those rows.
  pad->setBand(200, 4);
  ASSERT_TRUE(wait_result());
  EXPECT_EQ(heatmap().rows, 4);
  EXPECT_EQ(heatmap().row_labels.front(), texts[200]);
}

}  // namespace
}  // namespace ps::gui
