#include "models/tokenizer/detail/added_vocab.h"

#include "models/tokenizer/unicode.h"

namespace ps::tok {

void AddedVocab::Matcher::add(const std::string& pattern, int token) {
  uint32_t n = 0;
  for (unsigned char c : pattern) {
    auto it = nodes[n].next.find(c);
    if (it == nodes[n].next.end()) {
      nodes.push_back(Node{});
      uint32_t child = uint32_t(nodes.size() - 1);
      nodes[n].next[c] = child;
      n = child;
    } else {
      n = it->second;
    }
  }
  if (n != 0 && nodes[n].token < 0) nodes[n].token = token;  // first pattern wins on duplicates
}

void AddedVocab::Matcher::find(const std::string& s, size_t from, size_t* b, size_t* e, int* token) const {
  *token = -1;
  if (nodes[0].next.empty()) return;
  for (size_t i = from; i < s.size(); ++i) {
    uint32_t n = 0;
    for (size_t k = i; k < s.size(); ++k) {
      auto it = nodes[n].next.find(static_cast<unsigned char>(s[k]));
      if (it == nodes[n].next.end()) break;
      n = it->second;
      if (nodes[n].token >= 0) *b = i, *e = k + 1, *token = nodes[n].token;
    }
    if (*token >= 0) return;
  }
}

void AddedVocab::load(const json& arr, const JsonAt& at, const Model& model, const Normalizer* normalizer) {
  if (!arr.is_array()) at.fail(std::string("expected an array, got ") + arr.type_name());
  for (size_t i = 0; i < arr.size(); ++i) {
    const json& j = arr[i];
    JsonAt tat = at[i];
    AddedToken t;
    t.content = get_string(j, "content", tat);
    if (t.content.empty()) (tat / "content").fail("empty added token");
    if (!utf8_valid(t.content, nullptr)) (tat / "content").fail("not valid UTF-8");
    t.special = get_bool(j, "special", false, tat);
    t.single_word = get_bool(j, "single_word", false, tat);
    t.lstrip = get_bool(j, "lstrip", false, tat);
    t.rstrip = get_bool(j, "rstrip", false, tat);
    t.normalized = get_bool(j, "normalized", !t.special, tat);
    get_int(j, "id", tat);  // required by the format; the effective id is resolved below, as HF does
    auto known = by_content_.find(t.content);
    if (known != by_content_.end()) {  // a repeated entry updates the flags of the first
      int32_t id = tokens_[known->second].id;
      tokens_[known->second] = t;
      tokens_[known->second].id = id;
      continue;
    }
    int32_t id = model.token_to_id(t.content);
    if (id < 0) {
      int32_t mx = max_id(), vs = model.vocab_size();
      id = mx < 0 ? vs : ((mx >= vs || vs == 0) ? mx + 1 : vs);
    }
    t.id = id;
    by_id_[id] = tokens_.size();
    by_content_[t.content] = tokens_.size();
    tokens_.push_back(t);
  }
  // HF builds its matchers from special tokens first, then the others.
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < tokens_.size(); ++i) {
      const AddedToken& t = tokens_[i];
      if (t.special != (pass == 0)) continue;
      if (!t.normalized) {
        raw_.add(t.content, int(i));
      } else {
        NormalizedString ns(t.content, 0);
        if (normalizer) normalizer->normalize(ns);
        if (!ns.empty()) norm_.add(ns.get(), int(i));
      }
    }
  }
}

const AddedToken* AddedVocab::by_id(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}
const AddedToken* AddedVocab::by_content(const std::string& c) const {
  auto it = by_content_.find(c);
  return it == by_content_.end() ? nullptr : &tokens_[it->second];
}
int32_t AddedVocab::max_id() const {
  int32_t m = -1;
  for (const auto& t : tokens_) m = std::max(m, t.id);
  return m;
}

namespace {
bool word_char(char32_t c) { return c == '_' || is_alphanumeric(c); }
char32_t last_char(const std::string& s, size_t end) {
  size_t i = end - 1, n;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return utf8_decode(s, i, &n);
}
}  // namespace

void AddedVocab::split_with(std::vector<Split>& splits, const Matcher& m, const Normalizer* normalizer) const {
  std::vector<Split> out;
  for (Split& sp : splits) {
    if (sp.is_token) {
      out.push_back(std::move(sp));
      continue;
    }
    if (normalizer) normalizer->normalize(sp.ns);
    const std::string& s = sp.ns.get();
    size_t pos = 0, last = 0, b = 0, e = 0;
    int tok;
    for (;;) {
      m.find(s, pos, &b, &e, &tok);
      if (tok < 0) break;
      pos = e;  // the matcher resumes after this match even when the rules below reject it
      const AddedToken& t = tokens_[size_t(tok)];
      if (t.single_word) {
        size_t n;
        bool start_ok = b == 0 || !word_char(last_char(s, b));
        bool stop_ok = e == s.size() || !word_char(utf8_decode(s, e, &n));
        if (!start_ok || !stop_ok) continue;
      }
      if (t.lstrip) {
        size_t nb = b;
        while (nb > 0) {
          size_t i = nb - 1, n;
          while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
          if (!is_whitespace(utf8_decode(s, i, &n))) break;
          nb = i;
        }
        b = std::max(nb, last);
      }
      if (t.rstrip) {
        size_t n;
        while (e < s.size() && is_whitespace(utf8_decode(s, e, &n))) e += n;
      }
      if (last < b) out.push_back(Split{sp.ns.slice(last, b), false, -1});
      out.push_back(Split{sp.ns.slice(b, e), true, t.id});
      last = e;
    }
    if (last < s.size()) out.push_back(Split{sp.ns.slice(last, s.size()), false, -1});
  }
  splits.swap(out);
}

std::vector<Split> AddedVocab::extract_and_normalize(const std::string& text, const Normalizer* normalizer) const {
  std::vector<Split> splits;
  splits.push_back(Split{NormalizedString(text, 0), false, -1});
  split_with(splits, raw_, nullptr);
  split_with(splits, norm_, normalizer);
  std::vector<Split> out;
  for (Split& s : splits)
    if (!s.ns.empty()) out.push_back(std::move(s));
  return out;
}

}  // namespace ps::tok
