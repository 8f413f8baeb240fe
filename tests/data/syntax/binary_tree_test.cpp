// AST-Probe binarization and (d, c, u): the paper's worked example and each rule on hand-built trees.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "data/syntax/binary_tree.h"
#include "data/syntax/dcu.h"
#include "data/syntax/tree_text.h"

using namespace ps::syntax;

namespace {
using Strs = std::vector<std::string>;

// Worked example (AST-Probe §1): the `block` of `if x:\n    selected = element\n    break`.
TEST(AstProbe, WorkedExample) {
  std::string code = "if x:\n    selected = element\n    break\n";
  SyntaxTree file = parse(code, Language::Python);
  int block = -1;
  for (int i = 0; i < static_cast<int>(file.nodes.size()); ++i)
    if (file.nodes[i].type == "block") block = i;
  ASSERT_GE(block, 0);
  SyntaxTree t = subtree(file, block);
  std::vector<std::string> toks;
  for (const auto& tok : code_tokens(t, code)) toks.push_back(tok.text);
  EXPECT_EQ(toks, (Strs{"selected", "=", "element", "break"}));
  Dcu dcu = ast_to_dcu(t);
  EXPECT_EQ(dcu.d, (std::vector<int>{2, 1, 3}));
  EXPECT_EQ(dcu.c, (Strs{"expression_statement<sep>assignment", "<empty>", "block"}));
  EXPECT_EQ(dcu.u, (Strs{"<empty>", "<empty>", "<empty>", "break_statement"}));
  LabelledTree back = dcu_to_tree(dcu);
  EXPECT_EQ(back, to_labelled(t)) << render_labelled(back) << "\nvs\n" << render_labelled(to_labelled(t));
  EXPECT_EQ(render_labelled(back, toks),
            "(block (expression_statement (assignment \"selected\" \"=\" \"element\")) (break_statement \"break\"))");
}

// P(a, b, c, d) -> P(a, <empty>(b, <empty>(c, d))): d = (3, 2, 1), all splits but the first are <empty>.
TEST(AstProbe, RuleThreeRightBranching) {
  LabelledTree t;
  std::vector<int> leaves;
  for (int i = 0; i < 4; ++i) leaves.push_back(t.add_leaf(i));
  t.root = t.add_node("P", leaves);
  BinaryTree b = binarize(t);
  EXPECT_EQ(render_binary(b), "(P\n  0\n  (<empty>\n    1\n    (<empty>\n      2\n      3)))\n");
  Dcu dcu = tree_to_dcu(b);
  EXPECT_EQ(dcu.d, (std::vector<int>{3, 2, 1}));
  EXPECT_EQ(dcu.c, (Strs{"P", "<empty>", "<empty>"}));
  EXPECT_EQ(dcu_to_tree(dcu), t);
}

// Rules 1 and 2: A(B(C(x, y))) -> "A<sep>B<sep>C"(x, y); Q(R(z)) -> leaf z with unary "Q<sep>R".
TEST(AstProbe, RulesOneAndTwoUnaryChains) {
  LabelledTree t;
  int x = t.add_leaf(0), y = t.add_leaf(1), z = t.add_leaf(2);
  int c = t.add_node("C", {x, y});
  int a = t.add_node("A", {t.add_node("B", {c})});
  int q = t.add_node("Q", {t.add_node("R", {z})});
  t.root = t.add_node("S", {a, q});
  Dcu dcu = tree_to_dcu(binarize(t));
  EXPECT_EQ(dcu.d, (std::vector<int>{1, 2}));
  EXPECT_EQ(dcu.c, (Strs{"A<sep>B<sep>C", "S"}));
  EXPECT_EQ(dcu.u, (Strs{"<empty>", "<empty>", "Q<sep>R"}));
  EXPECT_EQ(dcu_to_tree(dcu), t);
  // The whole tree over one token: only u carries it.
  LabelledTree one;
  one.root = one.add_node("module", {one.add_node("expression_statement", {one.add_leaf(0)})});
  Dcu d1 = tree_to_dcu(binarize(one));
  EXPECT_TRUE(d1.d.empty());
  EXPECT_EQ(d1.u, (Strs{"module<sep>expression_statement"}));
  EXPECT_EQ(dcu_to_tree(d1), one);
}

// Rule 4 and a change of label or order must be visible to the equality the round trip relies on.
TEST(AstProbe, EqualityIsLabelledAndOrdered) {
  LabelledTree t;
  int a = t.add_leaf(0), b = t.add_leaf(1);
  t.root = t.add_node("P", {a, b});
  LabelledTree relabel = t;
  relabel.nodes[t.root].label = "Q";
  LabelledTree swapped = t;
  std::swap(swapped.nodes[t.root].children[0], swapped.nodes[t.root].children[1]);
  EXPECT_NE(t, relabel);
  EXPECT_NE(t, swapped);
  EXPECT_EQ(tree_to_dcu(binarize(t)).d, (std::vector<int>{1}));
}

// Ties split at the first argmax: d = (1, 1) is (x, (y, z)), not ((x, y), z).
TEST(AstProbe, TiesSplitAtFirstIndex) {
  Dcu dcu{{1, 1}, {"A", "B"}, {"<empty>", "<empty>", "<empty>"}};
  BinaryTree b = dcu_to_binary(dcu);
  EXPECT_EQ(render_binary(b), "(A\n  0\n  (B\n    1\n    2))\n");
  // A predicted <empty> root cannot stand alone: it is kept as an <empty> node, which constituents skip.
  Dcu empty_root{{2, 1}, {"<empty>", "X"}, {"<empty>", "<empty>", "<empty>"}};
  LabelledTree t = dcu_to_tree(empty_root);
  EXPECT_EQ(render_labelled(t), "(<empty> 0 (X 1 2))");
  EXPECT_EQ(constituents(t), (std::vector<Constituent>{{"X", 1, 3}}));
  EXPECT_THROW(dcu_to_binary(Dcu{{1}, {"A"}, {"<empty>"}}), ps::InputError);
}

TEST(AstProbe, ConstituentsIncludeRootAndUnary) {
  LabelledTree t;
  int x = t.add_leaf(0), y = t.add_leaf(1), z = t.add_leaf(2);
  int u = t.add_node("U", {z});
  t.root = t.add_node("R", {t.add_node("A", {x, y}), u});
  EXPECT_EQ(constituents(t), (std::vector<Constituent>{{"R", 0, 3}, {"A", 0, 2}, {"U", 2, 3}}));
}

TEST(AstProbe, VocabJsonRoundTripAndUnknowns) {
  LabelVocab c, u;
  Dcu dcu{{2, 1, 3}, {"a<sep>b", "<empty>", "block"}, {"<empty>", "<empty>", "<empty>", "break_statement"}};
  DcuIds ids = encode(dcu, c, u, true);
  EXPECT_EQ(ids.c, (std::vector<int32_t>{2, 0, 3}));
  EXPECT_EQ(ids.u, (std::vector<int32_t>{0, 0, 0, 2}));
  LabelVocab c2 = LabelVocab::from_json(nlohmann::json::parse(c.to_json().dump()));
  EXPECT_EQ(c2.labels(), c.labels());
  Dcu back = decode(ids, c2, u);
  EXPECT_EQ(back.c, dcu.c);
  EXPECT_EQ(back.u, dcu.u);
  Dcu unseen{{1}, {"never_seen"}, {"<empty>", "break_statement"}};
  DcuIds frozen = encode(unseen, c2, u, false);
  EXPECT_EQ(frozen.c, (std::vector<int32_t>{LabelVocab::kUnkId}));
  EXPECT_EQ(c2.size(), c.size());
  EXPECT_THROW(LabelVocab::from_json(nlohmann::json::parse(R"({"labels":["x"]})")), ps::InputError);
  EXPECT_THROW(LabelVocab::from_json(nlohmann::json::parse(R"({"labels":["<empty>","<unk>","a","a"]})")),
               ps::InputError);
  EXPECT_THROW(c2.label(99), ps::InputError);
}

}  // namespace
