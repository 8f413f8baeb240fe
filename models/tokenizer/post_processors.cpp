// Post-processors: ByteLevel (offset trimming), RobertaProcessing, BertProcessing, TemplateProcessing,
// Sequence. Only single sequences are encoded, so pair templates are validated but never applied.
#include <map>
#include <memory>
#include <vector>

#include "models/tokenizer/components.h"
#include "models/tokenizer/unicode.h"

namespace ps::tok {
namespace {

// HF byte_level::process_offsets: drop leading/trailing 'Ġ' (and whitespace) from each token's span.
// The HF bindings (Python, Node) run it on code-point offsets, so we do too: spans go to chars, are
// trimmed by char counts, and come back to bytes. (Rust's byte-offset mode would trim bytes and can cut
// a multi-byte char, e.g. for the space add_prefix_space puts before a CJK char.)
void trim_offsets(Encoding& e, bool add_prefix_space, const std::string& text) {
  std::vector<int64_t> char_begin;  // byte offset of each char, then text.size()
  for (size_t i = 0; i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) char_begin.push_back(int64_t(i));
  char_begin.push_back(int64_t(text.size()));
  auto char_offsets = utf8_char_offsets(text, e.offsets);
  for (size_t i = 0; i < e.ids.size(); ++i) {
    auto is_space = [](char32_t c) { return c == 0x120 || is_whitespace(c); };
    std::vector<char32_t> cs = utf8_chars(e.tokens[i]);
    size_t lead = 0, trail = 0;
    while (lead < cs.size() && is_space(cs[lead])) ++lead;
    while (trail < cs.size() && is_space(cs[cs.size() - 1 - trail])) ++trail;
    if (lead == 0 && trail == 0) continue;
    auto& off = char_offsets[i];
    if (lead > 0) {
      bool is_first = i == 0 || off.first == 0;
      if (is_first && add_prefix_space && lead == 1) lead = 0;  // keep the space the pre-tokenizer added
      off.first = std::min<int64_t>(off.first + int64_t(lead), off.second);
    }
    if (trail > 0 && off.second >= int64_t(trail)) off.second = std::max<int64_t>(off.second - int64_t(trail), off.first);
    auto to_byte = [&](int64_t c) { return char_begin[size_t(std::min<int64_t>(c, int64_t(char_begin.size()) - 1))]; };
    e.offsets[i] = {to_byte(off.first), to_byte(off.second)};
  }
}

void wrap(Encoding& e, const std::vector<std::pair<std::string, int32_t>>& before,
          const std::vector<std::pair<std::string, int32_t>>& after) {
  Encoding r;
  auto push = [&](const std::string& t, int32_t id, std::pair<int64_t, int64_t> off, uint8_t special) {
    r.ids.push_back(id);
    r.tokens.push_back(t);
    r.offsets.push_back(off);
    r.special_mask.push_back(special);
  };
  for (auto& [t, id] : before) push(t, id, {0, 0}, 1);
  for (size_t i = 0; i < e.ids.size(); ++i) push(e.tokens[i], e.ids[i], e.offsets[i], e.special_mask[i]);
  for (auto& [t, id] : after) push(t, id, {0, 0}, 1);
  e = std::move(r);
}

class ByteLevelPost : public PostProcessor {
 public:
  ByteLevelPost(bool prefix, bool trim) : prefix_(prefix), trim_(trim) {}
  void process(Encoding& e, bool, const std::string& text) const override {
    if (trim_) trim_offsets(e, prefix_, text);
  }

 private:
  bool prefix_, trim_;
};

class Roberta : public PostProcessor {
 public:
  Roberta(std::pair<std::string, int32_t> sep, std::pair<std::string, int32_t> cls, bool trim, bool prefix)
      : sep_(std::move(sep)), cls_(std::move(cls)), trim_(trim), prefix_(prefix) {}
  void process(Encoding& e, bool add_special, const std::string& text) const override {
    if (trim_) trim_offsets(e, prefix_, text);
    if (add_special) wrap(e, {cls_}, {sep_});
  }

 private:
  std::pair<std::string, int32_t> sep_, cls_;
  bool trim_, prefix_;
};

class Bert : public PostProcessor {
 public:
  Bert(std::pair<std::string, int32_t> sep, std::pair<std::string, int32_t> cls)
      : sep_(std::move(sep)), cls_(std::move(cls)) {}
  void process(Encoding& e, bool add_special, const std::string&) const override {
    if (add_special) wrap(e, {cls_}, {sep_});
  }

 private:
  std::pair<std::string, int32_t> sep_, cls_;
};

class Template : public PostProcessor {
 public:
  using Toks = std::vector<std::pair<std::string, int32_t>>;
  Template(Toks before, Toks after) : before_(std::move(before)), after_(std::move(after)) {}
  void process(Encoding& e, bool add_special, const std::string&) const override {
    if (add_special) wrap(e, before_, after_);
  }

 private:
  Toks before_, after_;
};

class Sequence : public PostProcessor {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PostProcessor>> v) : v_(std::move(v)) {}
  void process(Encoding& e, bool add_special, const std::string& text) const override {
    for (const auto& p : v_) p->process(e, add_special, text);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> v_;
};

std::pair<std::string, int32_t> token_pair(const json& j, const char* key, const JsonAt& at) {
  const json& v = req(j, key, at);
  if (!v.is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_number_unsigned() ||
      v[1].get<uint64_t>() > 0x7FFFFFFF)
    (at / key).fail("expected [token, id] with an id below 2^31");
  return {v[0].get<std::string>(), v[1].get<int32_t>()};
}

std::unique_ptr<PostProcessor> make_template(const json& j, const JsonAt& at) {
  // special_tokens: {"name": {"id": "name", "ids": [..], "tokens": [..]}}
  std::map<std::string, Template::Toks> specials;
  if (has(j, "special_tokens")) {
    const json& st = j.at("special_tokens");
    JsonAt sat = at / "special_tokens";
    if (!st.is_object()) sat.fail("expected an object");
    for (auto it = st.begin(); it != st.end(); ++it) {
      JsonAt tat = sat / it.key();
      const json& ids = get_array(it.value(), "ids", tat);
      const json& toks = get_array(it.value(), "tokens", tat);
      if (ids.size() != toks.size()) tat.fail("ids and tokens differ in length");
      Template::Toks v;
      for (size_t i = 0; i < ids.size(); ++i) {
        if (!ids[i].is_number_unsigned() || ids[i].get<uint64_t>() > 0x7FFFFFFF || !toks[i].is_string())
          tat.fail("bad ids/tokens entry");
        v.push_back({toks[i].get<std::string>(), ids[i].get<int32_t>()});
      }
      specials[it.key()] = v;
    }
  }
  const json& single = get_array(j, "single", at);
  Template::Toks before, after;
  int seqs = 0;
  for (size_t i = 0; i < single.size(); ++i) {
    JsonAt pat = (at / "single")[i];
    const json& p = single[i];
    if (p.is_object() && p.contains("SpecialToken")) {
      std::string id = get_string(p.at("SpecialToken"), "id", pat / "SpecialToken");
      auto it = specials.find(id);
      if (it == specials.end()) pat.fail("special token '" + id + "' is not in special_tokens");
      Template::Toks& dst = seqs == 0 ? before : after;
      dst.insert(dst.end(), it->second.begin(), it->second.end());
    } else if (p.is_object() && p.contains("Sequence")) {
      std::string id = get_string(p.at("Sequence"), "id", pat / "Sequence");
      if (id != "A") pat.fail("single template may only use sequence A, got '" + id + "'");
      if (++seqs > 1) pat.fail("sequence A appears twice");
    } else {
      pat.fail("expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
    }
  }
  if (seqs != 1) (at / "single").fail("must contain sequence A exactly once");
  return std::make_unique<Template>(before, after);
}

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const json& j, const JsonAt& at) {
  std::string type = type_of(j, at);
  if (type == "ByteLevel")
    return std::make_unique<ByteLevelPost>(get_bool(j, "add_prefix_space", true, at), get_bool(j, "trim_offsets", true, at));
  if (type == "RobertaProcessing")
    return std::make_unique<Roberta>(token_pair(j, "sep", at), token_pair(j, "cls", at),
                                     get_bool(j, "trim_offsets", true, at), get_bool(j, "add_prefix_space", true, at));
  if (type == "BertProcessing") return std::make_unique<Bert>(token_pair(j, "sep", at), token_pair(j, "cls", at));
  if (type == "TemplateProcessing") return make_template(j, at);
  if (type == "Sequence") {
    const json& arr = get_array(j, "processors", at);
    std::vector<std::unique_ptr<PostProcessor>> v;
    for (size_t i = 0; i < arr.size(); ++i) v.push_back(make_post_processor(arr[i], (at / "processors")[i]));
    return std::make_unique<Sequence>(std::move(v));
  }
  (at / "type").fail("unsupported post_processor type '" + type + "'");
}

}  // namespace ps::tok
