// Tree conversion, bracket reading, constituent matching and layout on planted trees.
#include <gtest/gtest.h>

#include "analysis/plot/probe_trees.h"
#include "analysis/plot/trees.h"
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

TEST(Trees, BracketReaderBuildsSpansAndTokenLabels) {
  const PlotTree t = parse_bracket("(module (expr_stmt (call 0 1 2 3)) \"4\")", "b", {"f", "(", "x", ")", ";"});
  ASSERT_EQ(t.roots.size(), 1u);
  EXPECT_EQ(num_leaves(t), 5);
  const auto& root = t.nodes[size_t(t.roots[0])];
  EXPECT_EQ(root.label, "module");
  EXPECT_EQ(root.begin, 0);
  EXPECT_EQ(root.end, 5);
  const auto& call = t.nodes[2];
  EXPECT_EQ(call.label, "call");
  EXPECT_EQ(call.begin, 0);
  EXPECT_EQ(call.end, 4);
  EXPECT_EQ(t.nodes[4].label, "(");  // leaf 1 shows tokens[1]
  // Quoted leaves with escapes, several roots.
  const PlotTree q = parse_bracket("(a \"say \\\"hi\\\"\" \"(\") (b c)", "b");
  EXPECT_EQ(q.roots.size(), 2u);
  EXPECT_EQ(q.nodes[1].label, "say \"hi\"");
  EXPECT_EQ(q.nodes[2].label, "(");
  EXPECT_EQ(q.nodes[q.roots[1]].begin, 2);
}

TEST(Trees, BracketErrorsSayWhere) {
  EXPECT_NE(error_of([] { parse_bracket("(a (b x)", "t.txt"); }).find("t.txt: bracket tree, offset 8: missing ')' for node 'a'"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_bracket("(a x))", "t"); }).find("unbalanced ')'"), std::string::npos);
  EXPECT_NE(error_of([] { parse_bracket("(a)", "t"); }).find("node 'a' has no children"), std::string::npos);
  EXPECT_NE(error_of([] { parse_bracket("( (b x))", "t"); }).find("needs a label"), std::string::npos);
  EXPECT_NE(error_of([] { parse_bracket("  ", "t"); }).find("empty"), std::string::npos);
}

TEST(Trees, MatchingMarksMissingConstituentsOnBothSides) {
  // Gold groups (x y), the prediction groups (y z); "s" over all and "n" over z match.
  TreePair p = tree_pair(parse_bracket("(s (a x y) (n z))", "g"), parse_bracket("(s x (b y (n z)))", "p"));
  auto flag = [](const PlotTree& t, const std::string& label) {
    for (const auto& n : t.nodes)
      if (n.label == label) return n.matched;
    throw std::runtime_error("no node " + label);
  };
  EXPECT_TRUE(flag(p.gold, "s"));
  EXPECT_FALSE(flag(p.gold, "a"));
  EXPECT_TRUE(flag(p.gold, "n"));
  EXPECT_TRUE(flag(p.predicted, "s"));
  EXPECT_FALSE(flag(p.predicted, "b"));
  const TreeScores s = tree_scores(p);
  EXPECT_EQ(s.gold, 3);
  EXPECT_EQ(s.predicted, 3);
  EXPECT_EQ(s.matched, 2);
  EXPECT_NEAR(s.f1(), 2.0 / 3.0, 1e-12);
  // Same label, different span: no match. Duplicated constituents match once each (multiset).
  TreePair d = tree_pair(parse_bracket("(u (u x))", "g"), parse_bracket("(u x)", "p"));
  EXPECT_EQ(tree_scores(d).matched, 1);
  EXPECT_EQ(tree_scores(d).gold, 2);
}

TEST(Trees, LayoutCentresParentsAndSharesTheLeafRow) {
  const TreePair p = tree_pair(parse_bracket("(s (a x y) z)", "g"), parse_bracket("(s (b (c x) y z))", "p"));
  // Leaves at x = token index, on the row below the deepest internal node of either tree (c: depth 2).
  for (const auto* t : {&p.gold, &p.predicted})
    for (const auto& n : t->nodes)
      if (n.leaf) {
        EXPECT_EQ(n.x, n.begin);
        EXPECT_EQ(n.depth, 3);
      }
  EXPECT_EQ(p.gold.nodes[1].x, 0.5);   // a over leaves 0 and 1
  EXPECT_EQ(p.gold.nodes[0].x, 1.25);  // s over a (0.5) and z (2)
  EXPECT_EQ(p.predicted.nodes[1].x, 1.0);  // b over c (0) and z (2)
  EXPECT_EQ(tree_rows(p), 4);
  EXPECT_NE(error_of([] { tree_pair(parse_bracket("(s x y)", "g"), parse_bracket("(s x)", "p")); })
                .find("gold tree has 2 leaves, the recovered tree 1"),
            std::string::npos);
}

TEST(Trees, ConvertsSyntaxAndProbeTrees) {
  // syntax::LabelledTree: leaves carry token indices; nodes may be stored in any order.
  ps::syntax::LabelledTree lt;
  lt.nodes = {{"", 1, {}}, {"call", -1, {3, 0}}, {"module", -1, {1}}, {"", 0, {}}};
  lt.root = 2;
  const PlotTree a = plot_tree(lt, {"f", "()"});
  EXPECT_EQ(a.nodes[1].begin, 0);
  EXPECT_EQ(a.nodes[1].end, 2);
  EXPECT_EQ(a.nodes[0].label, "()");
  // probes::DecodedTree: inclusive spans; two roots after an <empty> top split.
  ps::probes::DecodedTree dt;
  dt.nodes = {{"", 0, 0, true, {}}, {"", 1, 1, true, {}}, {"", 2, 2, true, {}}, {"call", 0, 1, false, {0, 1}}};
  dt.roots = {3, 2};
  const PlotTree b = plot_tree(dt, {"f", "()", ";"});
  EXPECT_EQ(b.nodes[3].end, 2);  // half-open here
  EXPECT_EQ(b.roots, (std::vector<int>{3, 2}));
  EXPECT_EQ(b.nodes[2].label, ";");
  const TreePair p = tree_pair(plot_tree(lt, {"f", "()"}), plot_tree(ps::probes::DecodedTree{{dt.nodes[0], dt.nodes[1], dt.nodes[3]}, {2}}));
  EXPECT_EQ(tree_scores(p).matched, 1);  // call[0,2) in both; module only in gold
}

TEST(Trees, ArrangementFollowsTheWidth) {
  TreePair p = tree_pair(parse_bracket("(s a b c d)", "g"), parse_bracket("(s a b c d)", "p"));
  EXPECT_EQ(resolve_arrangement(p, 3.5), TreeArrangement::side_by_side);  // 4 leaves
  TreePair q = tree_pair(parse_bracket("(s a b c d e f g h)", "g"), parse_bracket("(s a b c d e f g h)", "p"));
  EXPECT_EQ(resolve_arrangement(q, 3.5), TreeArrangement::stacked);
  EXPECT_EQ(resolve_arrangement(q, 7.16), TreeArrangement::side_by_side);
  q.arrangement = TreeArrangement::stacked;
  EXPECT_EQ(resolve_arrangement(q, 7.16), TreeArrangement::stacked);
}

}  // namespace

// probe show --json writes trees with probes::to_bracket and `plot tree` reads them back: tokens that are
// parentheses, quotes, backslashes or contain spaces must survive the trip.
TEST(Trees, ProbeBracketOutputReadsBackWithAwkwardTokens) {
  ps::probes::DecodedTree dt;
  dt.nodes = {{"", 0, 0, true, {}}, {"", 1, 1, true, {}}, {"", 2, 2, true, {}}, {"", 3, 3, true, {}},
              {"", 4, 4, true, {}}, {"args", 1, 4, false, {1, 2, 3, 4}}, {"call", 0, 4, false, {0, 5}}};
  dt.roots = {6};
  const std::vector<std::string> tokens = {"f", "(", "'a b\\\"c'", "\\", ")"};
  const std::string text = ps::probes::to_bracket(dt, &tokens);
  const PlotTree t = parse_bracket(text, "probe-output");
  ASSERT_EQ(num_leaves(t), 5) << text;
  std::vector<std::string> leaves;
  for (const auto& n : t.nodes)
    if (n.leaf) leaves.push_back(n.label);
  EXPECT_EQ(leaves, tokens) << text;
  EXPECT_EQ(t.nodes[t.roots[0]].label, "call");
}
