#pragma once
// Added tokens (tokenizer.json "added_tokens"): found in the text before the model runs, with HF's
// leftmost-longest matching and single_word / lstrip / rstrip rules. Tokens with normalized=false are
// matched in the original text; the others in the normalized text, against their normalized content.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "models/tokenizer/components.h"

namespace ps::tok {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool single_word = false, lstrip = false, rstrip = false, normalized = true, special = false;
};

class AddedVocab {
 public:
  // Resolves ids as HF does: the model's id when the model knows the content, else the next free id.
  void load(const json& arr, const JsonAt& at, const Model& model, const Normalizer* normalizer);

  // Input text -> splits: added tokens become token splits; everything else is normalized.
  std::vector<Split> extract_and_normalize(const std::string& text, const Normalizer* normalizer) const;

  const AddedToken* by_id(int32_t id) const;
  const AddedToken* by_content(const std::string& c) const;
  int32_t max_id() const;  // -1 when empty

 private:
  // Byte trie over match patterns; a terminal node holds the index of its token.
  struct Matcher {
    struct Node {
      std::unordered_map<unsigned char, uint32_t> next;
      int token = -1;
    };
    std::vector<Node> nodes{Node{}};
    void add(const std::string& pattern, int token);
    // Leftmost-longest match starting at or after from: (begin, end, token) or token -1.
    void find(const std::string& s, size_t from, size_t* b, size_t* e, int* token) const;
  };
  void split_with(std::vector<Split>& splits, const Matcher& m, const Normalizer* normalizer) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<int32_t, size_t> by_id_;
  std::unordered_map<std::string, size_t> by_content_;
  Matcher raw_, norm_;
};

}  // namespace ps::tok
