// Structural-probe targets on a hand-built tree whose distances are counted by hand.
#include <gtest/gtest.h>

#include "data/syntax/parse.h"
#include "data/syntax/structural.h"

using namespace ps::syntax;

namespace {

TEST(Structural, DistancesAndDepths) {
  // R(A(t0, t1), U(t2)) : t0-t1 = 2, t0-t2 = 4, t1-t2 = 4; depths 2, 2, 2.
  LabelledTree t;
  int x = t.add_leaf(0), y = t.add_leaf(1), z = t.add_leaf(2);
  t.root = t.add_node("R", {t.add_node("A", {x, y}), t.add_node("U", {z})});
  StructuralTargets s = structural_targets(t);
  EXPECT_EQ(distance_matrix(s), (std::vector<int>{0, 2, 4, 2, 0, 4, 4, 4, 0}));
  EXPECT_EQ(token_depths(s), (std::vector<int>{2, 2, 2}));
}

TEST(Structural, OnParsedCode) {
  // module(expression_statement(call(identifier f, argument_list("(", identifier x, ")"))))
  SyntaxTree tree = parse("f(x)\n", Language::Python);
  StructuralTargets s = structural_targets(to_labelled(tree));
  ASSERT_EQ(s.num_tokens(), 4);
  EXPECT_EQ(token_depths(s), (std::vector<int>{3, 4, 4, 4}));
  std::vector<int> d = distance_matrix(s);
  EXPECT_EQ(d[0 * 4 + 1], 3);  // f -> call -> argument_list -> "("
  EXPECT_EQ(d[1 * 4 + 2], 2);  // "(" and x are siblings
}

TEST(Structural, RejectsDuplicateTokens) {
  LabelledTree t;
  t.root = t.add_node("R", {t.add_leaf(0), t.add_leaf(0)});
  EXPECT_THROW(structural_targets(t), ps::InputError);
}

}  // namespace
