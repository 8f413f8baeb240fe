// libFuzzer target: Tokenizer::encode on arbitrary text with fixed tokenizers (built here once): byte-level
// BPE (GPT-2 / RoBERTa style, and the shipped codegpt-py-small tokenizer.json when present), WordPiece
// (BERT normalizer, two post-processors), SentencePiece-style BPE with byte fallback (LLaMA: Prepend+Replace
// normalizer, and Metaspace), Unigram with byte fallback.
// Input: byte 0 picks the tokenizer and how the rest becomes text: raw bytes (invalid UTF-8 must be a
// ps::InputError), 2 bytes per BMP code point, or 3 bytes per code point (all planes, no surrogates).
// Invariants: parallel arrays; ids inside the vocabulary and tokens[i] holding id_to_token(ids[i]) (added
// tokens may carry stripped whitespace); offsets inside the text, on UTF-8 boundaries,
// begins of non-empty spans monotone; template tokens (0,0);
// encode(add_special_tokens=false) == the non-special part; decode() and utf8_char_offsets() succeed.
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/tokenizer/tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

using nlohmann::json;
using ps::fuzz::check;
using ps::tok::Tokenizer;

namespace {

void put_utf8(std::string& s, uint32_t cp) {
  if (cp < 0x80) {
    s += char(cp);
  } else if (cp < 0x800) {
    s += char(0xC0 | (cp >> 6)), s += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += char(0xE0 | (cp >> 12)), s += char(0x80 | ((cp >> 6) & 0x3F)), s += char(0x80 | (cp & 0x3F));
  } else {
    s += char(0xF0 | (cp >> 18)), s += char(0x80 | ((cp >> 12) & 0x3F)), s += char(0x80 | ((cp >> 6) & 0x3F));
    s += char(0x80 | (cp & 0x3F));
  }
}
std::string utf8(uint32_t cp) {
  std::string s;
  put_utf8(s, cp);
  return s;
}

json added(int id, const std::string& content, bool special, json extra = json::object()) {
  json t = {{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
            {"normalized", !special}, {"special", special}};
  t.update(extra);
  return t;
}

// GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 upwards.
std::vector<std::string> byte_alphabet() {
  std::vector<std::string> out(256);
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    out[b] = utf8(printable ? uint32_t(b) : uint32_t(256 + n++));
  }
  return out;
}

json bytelevel(bool prefix) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", prefix}, {"trim_offsets", true}, {"use_regex", true}};
}

json roberta() {
  const auto alpha = byte_alphabet();
  json vocab = json::object();
  for (const auto& a : alpha) vocab[a] = int(vocab.size());
  const std::string sp = alpha[' '];
  json merges = json::array();
  for (const char* m : {"h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "Ġwor l", "Ġworl d", "Ġ Ġ", "d e", "Ġ de",
                        "Ġde f", "Ã ¼", "ä ¸"}) {
    std::string s = m;
    std::string l = s.substr(0, s.find(' ')), r = s.substr(s.find(' ') + 1);
    for (std::string* p : {&l, &r})
      if (*p == "Ġ") *p = sp;
    if (!vocab.contains(l + r)) vocab[l + r] = int(vocab.size());
    merges.push_back(l + " " + r);
  }
  const int n = int(vocab.size());
  return {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr},
          {"added_tokens", {added(n, "<s>", true), added(n + 1, "<pad>", true), added(n + 2, "</s>", true),
                            added(n + 3, "<unk>", true), added(n + 4, "<mask>", true, {{"lstrip", true}}),
                            added(n + 5, " hello world", false, {{"normalized", false}}),
                            added(n + 6, "snake_case", false, {{"single_word", true}, {"rstrip", true}, {"normalized", false}})}},
          {"normalizer", nullptr}, {"pre_tokenizer", bytelevel(true)},
          {"post_processor", {{"type", "RobertaProcessing"}, {"sep", {"</s>", n + 2}}, {"cls", {"<s>", n}},
                              {"trim_offsets", true}, {"add_prefix_space", true}}},
          {"decoder", bytelevel(true)},
          {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", ""},
                     {"end_of_word_suffix", ""}, {"fuse_unk", false}, {"byte_fallback", false}, {"vocab", vocab},
                     {"merges", merges}}}};
}

json gpt2_partial() {  // byte-level BPE whose vocabulary lacks most bytes (unknown bytes are dropped)
  json vocab = {{"H", 0}, {"e", 1}, {"l", 2}, {"o", 3}, {"He", 4}, {"<|endoftext|>", 5}, {"Ġ", 6}, {"ĠH", 7}};
  return {{"version", "1.0"}, {"added_tokens", {added(5, "<|endoftext|>", true)}}, {"normalizer", nullptr},
          {"pre_tokenizer", bytelevel(false)},
          {"post_processor", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}}},
          {"decoder", bytelevel(true)},
          {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                     {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"vocab", vocab},
                     {"merges", {"H e", "Ġ H"}}}}};
}

json bert(bool lowercase, bool template_proc) {
  json vocab = json::object();
  for (const char* t : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s", "##ing", ",", ".", "!", "def",
                        "return", "x", "##x", "f", "(", ")", ":", "a", "##a", "##b", "e", "##e", "cafe", "中", "日", "本"})
    vocab[t] = int(vocab.size());
  json post = template_proc
                  ? json{{"type", "TemplateProcessing"},
                         {"single", {{{"SpecialToken", {{"id", "[CLS]"}, {"type_id", 0}}}},
                                     {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                     {{"SpecialToken", {{"id", "[SEP]"}, {"type_id", 0}}}}}},
                         {"pair", json::array()},
                         {"special_tokens", {{"[CLS]", {{"id", "[CLS]"}, {"ids", {2}}, {"tokens", {"[CLS]"}}}},
                                             {"[SEP]", {{"id", "[SEP]"}, {"ids", {3}}, {"tokens", {"[SEP]"}}}}}}}
                  : json{{"type", "BertProcessing"}, {"sep", {"[SEP]", 3}}, {"cls", {"[CLS]", 2}}};
  const json sp = {added(0, "[PAD]", true), added(1, "[UNK]", true), added(2, "[CLS]", true), added(3, "[SEP]", true), added(4, "[MASK]", true)};
  return {{"version", "1.0"}, {"added_tokens", sp},
          {"normalizer", {{"type", "BertNormalizer"}, {"clean_text", true}, {"handle_chinese_chars", true},
                          {"strip_accents", lowercase ? json(nullptr) : json(true)}, {"lowercase", lowercase}}},
          {"pre_tokenizer", {{"type", "BertPreTokenizer"}}}, {"post_processor", post},
          {"decoder", {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}}},
          {"model", {{"type", "WordPiece"}, {"unk_token", "[UNK]"}, {"continuing_subword_prefix", "##"},
                     {"max_input_chars_per_word", 20}, {"vocab", vocab}}}};
}

std::vector<std::string> byte_tokens() {
  std::vector<std::string> out;
  const char* hex = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) out.push_back(std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">");
  return out;
}

json llama(const std::string& style) {
  json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
  for (const auto& t : byte_tokens()) vocab[t] = int(vocab.size());
  const std::string m = "\u2581";
  json merges = json::array();
  for (const char* t : {"h", "e", "l", "o", "w", "r", "d"})
    if (!vocab.contains(t)) vocab[t] = int(vocab.size());
  vocab[m] = int(vocab.size());
  for (auto [l, r] : std::vector<std::pair<std::string, std::string>>{{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"},
                                                                      {m, "hello"}, {m, "w"}, {"o", "r"}, {m + "w", "or"}}) {
    vocab[l + r] = int(vocab.size());
    merges.push_back(l + " " + r);
  }
  json j = {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr},
            {"added_tokens", {added(0, "<unk>", true), added(1, "<s>", true), added(2, "</s>", true)}},
            {"post_processor", {{"type", "TemplateProcessing"},
                                {"single", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
                                {"pair", json::array()},
                                {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}}},
            {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", "<unk>"}, {"continuing_subword_prefix", nullptr},
                       {"end_of_word_suffix", nullptr}, {"fuse_unk", true}, {"byte_fallback", true}, {"ignore_merges", false},
                       {"vocab", vocab}, {"merges", merges}}}};
  if (style == "normalizer") {
    j["normalizer"] = {{"type", "Sequence"},
                       {"normalizers", {{{"type", "Prepend"}, {"prepend", m}},
                                        {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", m}}}}};
    j["pre_tokenizer"] = nullptr;
    j["decoder"] = {{"type", "Sequence"},
                    {"decoders", {{{"type", "Replace"}, {"pattern", {{"String", m}}}, {"content", " "}},
                                  {{"type", "ByteFallback"}}, {{"type", "Fuse"}},
                                  {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
  } else {
    j["normalizer"] = nullptr;
    j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", m}, {"prepend_scheme", "first"}, {"split", style == "split"}};
    j["decoder"] = {{"type", "Sequence"},
                    {"decoders", {{{"type", "Metaspace"}, {"replacement", m}, {"prepend_scheme", "first"}, {"split", false}},
                                  {{"type", "ByteFallback"}}, {{"type", "Fuse"}}}}};
  }
  return j;
}

json unigram() {
  const std::string m = "\u2581";
  json vocab = json::array({json::array({"<unk>", 0.0})});
  for (const auto& t : byte_tokens()) vocab.push_back({t, 0.0});
  for (auto [t, s] : std::vector<std::pair<std::string, double>>{{m, -1.0}, {"h", -2.0}, {"e", -2.0}, {m + "he", -1.5}, {"llo", -1.7},
                                                                 {"l", -2.5}, {"o", -2.5}, {m + "w", -3.0}, {"or", -2.2}, {"ld", -2.1}, {"日本", -1.0}})
    vocab.push_back({t, s});
  const int n = int(vocab.size());
  return {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr},
          {"added_tokens", {added(0, "<unk>", true), added(n, "</s>", true)}},
          {"normalizer", {{"type", "Sequence"},
                          {"normalizers", {{{"type", "Replace"}, {"pattern", {{"Regex", " {2,}"}}}, {"content", " "}}}}}},
          {"pre_tokenizer", {{"type", "Metaspace"}, {"replacement", m}, {"prepend_scheme", "always"}, {"split", true}}},
          {"post_processor", {{"type", "TemplateProcessing"},
                              {"single", {{{"Sequence", {{"id", "A"}, {"type_id", 0}}}}, {{"SpecialToken", {{"id", "</s>"}, {"type_id", 0}}}}}},
                              {"pair", json::array()},
                              {"special_tokens", {{"</s>", {{"id", "</s>"}, {"ids", {n}}, {"tokens", {"</s>"}}}}}}}},
          {"decoder", {{"type", "Metaspace"}, {"replacement", m}, {"prepend_scheme", "always"}, {"split", true}}},
          {"model", {{"type", "Unigram"}, {"unk_id", 0}, {"vocab", vocab}, {"byte_fallback", true}}}};
}

std::vector<Tokenizer> make_tokenizers() {
  std::vector<Tokenizer> out;
  std::vector<std::pair<std::string, json>> specs = {
      {"roberta", roberta()},         {"gpt2-partial", gpt2_partial()}, {"bert-uncased", bert(true, false)},
      {"bert-cased", bert(false, true)}, {"llama-normalizer", llama("normalizer")}, {"llama-metaspace", llama("first")},
      {"llama-split", llama("split")}, {"unigram", unigram()}};
  for (const auto& [name, j] : specs) {
    try {
      out.push_back(Tokenizer::from_json(j.dump(), name));
    } catch (const ps::Error& e) {
      std::fprintf(stderr, "fuzz_tokenizer_encode: fixture %s does not load: %s\n", name.c_str(), e.what());
      std::abort();
    }
  }
#ifdef PS_SOURCE_DIR
  std::ifstream in(std::string(PS_SOURCE_DIR) + "/data/models/codegpt-py-small/tokenizer.json", std::ios::binary);
  if (in) {
    std::stringstream ss;
    ss << in.rdbuf();
    out.push_back(Tokenizer::from_json(ss.str(), "codegpt-py-small"));
  }
#endif
  return out;
}

bool boundary(const std::string& s, int64_t i) {
  return i == int64_t(s.size()) || (static_cast<unsigned char>(s[size_t(i)]) & 0xC0) != 0x80;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<Tokenizer> toks = make_tokenizers();
  if (size == 0) return 0;
  const Tokenizer& tok = toks[data[0] % toks.size()];
  const int mode = (data[0] / toks.size()) % 3;
  std::string text;
  if (mode == 0) {
    text.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  } else {
    const size_t w = mode == 1 ? 2 : 3;
    for (size_t i = 1; i + w <= size; i += w) {
      uint32_t cp = w == 2 ? uint32_t(data[i]) << 8 | data[i + 1] : (uint32_t(data[i]) << 16 | uint32_t(data[i + 1]) << 8 | data[i + 2]) % 0x110000;
      if (cp >= 0xD800 && cp < 0xE000) cp -= 0x800;  // no surrogates
      put_utf8(text, cp);
    }
  }
  ps::tok::Encoding enc;
  try {
    enc = tok.encode(text);
  } catch (const ps::InputError& e) {
    check(mode == 0, "valid UTF-8 was refused");
    ps::fuzz::check_error(e, "encode: ");
    return 0;
  }
  const size_t n = enc.ids.size();
  check(enc.tokens.size() == n && enc.offsets.size() == n && enc.special_mask.size() == n, "parallel arrays");
  const int64_t len = int64_t(text.size());
  int64_t last_begin = 0;
  std::vector<int32_t> plain;
  for (size_t i = 0; i < n; ++i) {
    const auto [b, e] = enc.offsets[i];
    check(enc.ids[i] >= 0 && enc.ids[i] < tok.vocab_size(), "id inside the vocabulary");
    // Added tokens with lstrip/rstrip carry the whitespace they absorbed, as in HF ("snake_case ").
    check(enc.tokens[i].find(tok.id_to_token(enc.ids[i])) != std::string::npos, "token string holds the id's");
    if (enc.special_mask[i]) {
      check(b == 0 && e == 0, "template tokens have (0,0)");
      continue;
    }
    plain.push_back(enc.ids[i]);
    check(0 <= b && b <= e && e <= len, "offsets inside the text");
    // Over non-empty spans only: a prefix space trimmed by trim_offsets ends up (e, e) of the next
    // character, before that character's own span, exactly as in HF ("<s>x": "Ġ" (35,35), "x" (34,35)).
    if (b < e) {
      check(b >= last_begin, "offset begins monotone");
      last_begin = b;
    }
  }
  const ps::tok::Encoding bare = tok.encode(text, /*add_special_tokens=*/false);
  check(bare.ids == plain, "encode without special tokens is the non-special part");
  for (const auto& [b, e] : bare.offsets) check(boundary(text, b) && boundary(text, e), "offsets on UTF-8 boundaries");
  const auto chars = ps::tok::utf8_char_offsets(text, enc.offsets);
  check(chars.size() == n, "one char offset per token");
  (void)tok.decode(enc.ids);
  (void)tok.decode(enc.ids, /*skip_special_tokens=*/false);
  return 0;
}
