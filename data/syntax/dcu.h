#pragma once
// Syntactic distance form of a binary tree (Shen et al. 2018 / AST-Probe §1): for n+1 tokens,
// d[i] = height of LCA(i, i+1), c[i] = its label, u[j] = unary label of leaf j.
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "data/syntax/binary_tree.h"

namespace ps::syntax {

struct Dcu {
  std::vector<int> d;
  std::vector<std::string> c;
  std::vector<std::string> u;
};

Dcu tree_to_dcu(const BinaryTree& tree);
// Split at argmax d (first index on ties), recursively; leaf j gets unary u[j]. Throws InputError when
// |d| != |c| or |u| != |d| + 1 or u is empty.
BinaryTree dcu_to_binary(const Dcu& dcu);
// dcu_to_binary followed by unbinarize: the fully expanded labelled tree.
LabelledTree dcu_to_tree(const Dcu& dcu);
// tree_to_dcu(binarize(to_labelled(tree))).
Dcu ast_to_dcu(const SyntaxTree& tree);

// Label <-> id. Id 0 is "<empty>", id 1 is "<unk>" (what unseen labels map to when the vocabulary is frozen).
class LabelVocab {
 public:
  LabelVocab();
  int add(const std::string& label);  // existing id or a new one
  std::optional<int> find(const std::string& label) const;
  int id_or_unk(const std::string& label) const;
  const std::string& label(int id) const;  // throws InputError when out of range
  size_t size() const { return labels_.size(); }
  const std::vector<std::string>& labels() const { return labels_; }
  nlohmann::json to_json() const;                      // {"labels": [...]}
  static LabelVocab from_json(const nlohmann::json& j);  // throws InputError on a malformed object
  static constexpr int kEmptyId = 0, kUnkId = 1;

 private:
  std::vector<std::string> labels_;
  std::unordered_map<std::string, int> ids_;
};

struct DcuIds {
  std::vector<int32_t> d, c, u;
};
// grow: add unseen labels to the vocabularies; otherwise they map to <unk>.
DcuIds encode(const Dcu& dcu, LabelVocab& c_vocab, LabelVocab& u_vocab, bool grow);
Dcu decode(const DcuIds& ids, const LabelVocab& c_vocab, const LabelVocab& u_vocab);

}  // namespace ps::syntax
