// The panels share one Selection (snippet, layer, k, head): a change made in one panel shows in the
// others, a value the store lacks is replaced by one it holds, and the selection emits only on change.
#include <gtest/gtest.h>

#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QTest>

#include "app/gui/curves.h"
#include "app/gui/explorer.h"
#include "app/gui/figure_view.h"
#include "app/gui/main_window.h"
#include "app/gui/selection.h"
#include "app/gui/snippet_view.h"
#include "tests/app/gui/gui_fixture.h"

namespace ps::gui {
namespace {

using testing::fixture;

TEST(GuiSelection, EmitsOnlyOnRealChange) {
  testing::ensure_app();
  Selection s;
  QSignalSpy layer(&s, &Selection::layerChanged), snippet(&s, &Selection::snippetChanged),
      k(&s, &Selection::kChanged), head(&s, &Selection::headChanged);
  s.setLayer(2);
  s.setLayer(2);
  s.setSnippet(0);  // the default
  s.setHead(-1);    // the default
  s.setK(8);
  s.setK(8);
  s.setK(4);
  ASSERT_EQ(layer.count(), 1);
  EXPECT_EQ(layer.at(0).at(0).toInt(), 2);
  EXPECT_EQ(snippet.count(), 0);
  EXPECT_EQ(head.count(), 0);
  EXPECT_EQ(k.count(), 2);
  EXPECT_EQ(s.k(), 4);
}

std::string title(const FigureView* v) {
  const auto* f = v->figure();
  return f && std::holds_alternative<plot::LinePlot>(*f) ? std::get<plot::LinePlot>(*f).title : "";
}

TEST(GuiSelection, PanelsFollowAChangeMadeInAnother) {
  testing::ensure_app();
  MainWindow w;
  w.setDialogsEnabled(false);
  ASSERT_TRUE(w.openModel(QString::fromStdString(fixture().model))) << w.lastError().toStdString();
  ASSERT_TRUE(w.openStore(QString::fromStdString(fixture().store))) << w.lastError().toStdString();
  ASSERT_TRUE(w.openResults(QString::fromStdString(fixture().results_csv))) << w.lastError().toStdString();
  auto* ex = w.explorer();
  Selection& sel = w.selection();
  QSignalSpy layers(&sel, &Selection::layerChanged);

  // The explorer's slider moves the curves' F1 by k.
  ex->slider()->setValue(0);
  QTest::keyClick(ex->slider(), Qt::Key_Right);
  EXPECT_EQ(sel.layer(), 1);
  EXPECT_NE(title(w.curves()->panel(1)->view()).find("layer 1"), std::string::npos);

  // The explorer's snippet box moves the source view.
  auto* box = ex->findChild<QSpinBox*>();
  ASSERT_NE(box, nullptr);
  box->setValue(2);
  QTest::keyClick(box, Qt::Key_Up);
  EXPECT_EQ(sel.snippet(), 3);
  const auto code = w.session().snippet_code(3);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(w.snippetView()->editor()->toPlainText(), QString::fromStdString(*code));

  // The selection itself, written from outside any panel: every panel follows it.
  layers.clear();
  sel.setLayer(2);
  EXPECT_EQ(layers.count(), 1);
  EXPECT_EQ(ex->slider()->value(), 2);
  ASSERT_TRUE(ex->probe().has_value());
  EXPECT_EQ(ex->probe()->layer, 2);
  EXPECT_NE(title(w.curves()->panel(1)->view()).find("layer 2"), std::string::npos);
  sel.setK(4);
  ASSERT_TRUE(ex->probe().has_value());
  EXPECT_EQ(ex->probe()->k, 4);
  sel.setHead(1);
  const auto* heat = ex->attentionPanel()->view()->figure();
  ASSERT_NE(heat, nullptr);
  EXPECT_NE(std::get<plot::Heatmap>(*heat).title.find("head 1"), std::string::npos);

  // Values the store does not hold become ones it does: the last layer, the largest fitted k.
  sel.setLayer(9);
  EXPECT_EQ(sel.layer(), 2);
  EXPECT_EQ(ex->slider()->value(), 2);
  sel.setK(99);
  EXPECT_EQ(sel.k(), 8);
  EXPECT_EQ(ex->probe()->k, 8);
}

}  // namespace
}  // namespace ps::gui
