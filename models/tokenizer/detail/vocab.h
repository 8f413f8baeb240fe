#pragma once
// Token <-> id tables shared by the models, read from tokenizer.json with field-naming errors.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "models/tokenizer/components.h"

namespace ps::tok {

class Vocab {
 public:
  int32_t token_to_id(const std::string& t) const {
    auto it = ids_.find(t);
    return it == ids_.end() ? -1 : it->second;
  }
  std::string id_to_token(int32_t id) const {
    return id >= 0 && size_t(id) < tokens_.size() ? tokens_[size_t(id)] : std::string();
  }
  int32_t size() const { return int32_t(ids_.size()); }
  // Later duplicates win, as in a Rust HashMap built by insertion.
  void add(const std::string& t, int32_t id) {
    ids_[t] = id;
    if (size_t(id) >= tokens_.size()) tokens_.resize(size_t(id) + 1);
    tokens_[size_t(id)] = t;
  }

 private:
  std::unordered_map<std::string, int32_t> ids_;
  std::vector<std::string> tokens_;
};

// The largest id a vocabulary of `entries` tokens may use. The id -> token table is dense, so one id of
// 2^31 would cost 64 GB; real vocabularies have few or no gaps.
inline int64_t max_vocab_id(size_t entries) { return 2 * int64_t(entries) + 1024; }

// {"token": id, ...} as BPE and WordPiece store it.
inline Vocab read_vocab_map(const json& j, const JsonAt& at) {
  if (!j.is_object()) at.fail(std::string("expected an object of token: id, got ") + j.type_name());
  const int64_t limit = max_vocab_id(j.size());
  Vocab v;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_number_unsigned() || it.value().get<uint64_t>() > 0x7FFFFFFF)
      (at / it.key()).fail("expected a non-negative integer id");
    if (it.value().get<int64_t>() > limit)
      (at / it.key()).fail("id " + std::to_string(it.value().get<int64_t>()) + " is far beyond the vocabulary's " +
                           std::to_string(j.size()) + " entries (ids must stay below " + std::to_string(limit) + ")");
    v.add(it.key(), it.value().get<int32_t>());
  }
  return v;
}

std::unique_ptr<Model> make_bpe(const json& j, const JsonAt& at);
std::unique_ptr<Model> make_wordpiece(const json& j, const JsonAt& at);
std::unique_ptr<Model> make_unigram(const json& j, const JsonAt& at);

}  // namespace ps::tok
