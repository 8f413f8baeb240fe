// Tokenizer: loads tokenizer.json and runs added tokens -> normalizer -> pre-tokenizer -> model ->
// post-processor, mapping every token back to byte offsets of the input.
#include "models/tokenizer/tokenizer.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/tokenizer/detail/added_vocab.h"
#include "models/tokenizer/components.h"
#include "models/tokenizer/unicode.h"
#include "models/util/error.h"

namespace ps::tok {

struct Tokenizer::Impl {
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<Model> model;
  std::unique_ptr<PostProcessor> post_processor;
  std::unique_ptr<Decoder> decoder;
  AddedVocab added;
  int32_t pad_id = -1;
};

Tokenizer Tokenizer::from_file(const std::string& path) {
  // The parsed JSON takes ~10x the file's size: refuse sizes no real tokenizer.json has (the largest on
  // the Hugging Face hub are tens of MB) before reading.
  constexpr uintmax_t kMaxBytes = uintmax_t(256) << 20;
  std::error_code ec;
  const uintmax_t bytes = std::filesystem::file_size(path, ec);
  if (!ec && bytes > kMaxBytes)
    throw InputError(where(path, std::to_string(bytes) + " bytes, more than the 256 MiB a tokenizer.json may have"));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(where(path, "cannot open tokenizer file"));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw InputError(where(path, "read error"));
  return from_json(ss.str(), path);
}

Tokenizer Tokenizer::from_json(const std::string& text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number like 1e999
    throw InputError(where(source, std::string("invalid JSON: ") + e.what()));
  }
  JsonAt root{source, ""};
  if (!j.is_object()) root.fail(std::string("expected a JSON object, got ") + j.type_name());
  auto impl = std::make_shared<Impl>();
  if (has(j, "truncation")) (root / "truncation").fail("truncation is not supported (set it to null)");
  if (has(j, "normalizer")) impl->normalizer = make_normalizer(j.at("normalizer"), root / "normalizer");
  if (has(j, "pre_tokenizer")) impl->pre_tokenizer = make_pre_tokenizer(j.at("pre_tokenizer"), root / "pre_tokenizer");
  if (!has(j, "model")) (root / "model").fail("missing");
  impl->model = make_model(j.at("model"), root / "model");
  if (has(j, "post_processor")) impl->post_processor = make_post_processor(j.at("post_processor"), root / "post_processor");
  if (has(j, "decoder")) impl->decoder = make_decoder(j.at("decoder"), root / "decoder");
  if (has(j, "added_tokens"))
    impl->added.load(j.at("added_tokens"), root / "added_tokens", *impl->model, impl->normalizer.get());
  if (has(j, "padding")) {
    // Padding only matters for batches; encode() handles one sequence and never pads, but we keep the id.
    JsonAt pat = root / "padding";
    const json& p = j.at("padding");
    if (p.contains("strategy") && p.at("strategy").is_object())
      pat.fail("fixed-length padding is not supported (use BatchLongest or null)");
    const int64_t pad = get_int(p, "pad_id", pat);
    if (pad < 0 || pad > 0x7FFFFFFF) (pat / "pad_id").fail("out of range: " + std::to_string(pad));
    impl->pad_id = int32_t(pad);
  } else {
    for (const char* name : {"<pad>", "[PAD]", "<|pad|>", "<|endoftext|>"}) {
      if (const AddedToken* t = impl->added.by_content(name)) {
        impl->pad_id = t->id;
        break;
      }
    }
  }
  Tokenizer t;
  t.impl_ = impl;
  return t;
}

Encoding Tokenizer::encode(const std::string& text, bool add_special_tokens) const {
  size_t bad = 0;
  if (!utf8_valid(text, &bad)) throw InputError("encode: input is not valid UTF-8 at byte " + std::to_string(bad));
  const Impl& m = *impl_;
  std::vector<Split> splits = m.added.extract_and_normalize(text, m.normalizer.get());
  if (m.pre_tokenizer) m.pre_tokenizer->pre_tokenize(splits);
  Encoding e;
  auto push = [&](int32_t id, std::string tok, Span off) {
    e.ids.push_back(id);
    e.tokens.push_back(std::move(tok));
    e.offsets.emplace_back(int64_t(off.first), int64_t(off.second));
    e.special_mask.push_back(0);
  };
  for (const Split& s : splits) {
    if (s.is_token) {
      push(s.id, s.ns.get(), s.ns.to_original(0, s.ns.get().size()));
      continue;
    }
    for (Token& t : m.model->tokenize(s.ns.get())) push(t.id, std::move(t.value), s.ns.to_original(t.offsets.first, t.offsets.second));
  }
  if (m.post_processor) m.post_processor->process(e, add_special_tokens, text);
  return e;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  const Impl& m = *impl_;
  std::vector<std::string> tokens;
  for (int32_t id : ids) {
    if (const AddedToken* t = m.added.by_id(id)) {
      if (!(skip_special_tokens && t->special)) tokens.push_back(t->content);
      continue;
    }
    std::string t = m.model->id_to_token(id);
    if (!t.empty()) tokens.push_back(t);
  }
  if (!m.decoder) {
    std::string r;
    for (size_t i = 0; i < tokens.size(); ++i) r += (i ? " " : "") + tokens[i];
    return r;
  }
  std::string r;
  for (const std::string& s : m.decoder->decode_chain(std::move(tokens))) r += s;
  return r;
}

int32_t Tokenizer::vocab_size() const {
  // HF get_vocab_size(with_added_tokens=true): model size plus added tokens the model lacks.
  int32_t n = impl_->model->vocab_size();
  for (int32_t id = n, mx = impl_->added.max_id(); id <= mx; ++id)
    if (impl_->added.by_id(id)) ++n;
  return n;
}

std::string Tokenizer::model_type() const { return impl_->model->type(); }

int32_t Tokenizer::token_to_id(const std::string& t) const {
  if (const AddedToken* a = impl_->added.by_content(t)) return a->id;
  return impl_->model->token_to_id(t);
}

std::string Tokenizer::id_to_token(int32_t id) const {
  if (const AddedToken* a = impl_->added.by_id(id)) return a->content;
  return impl_->model->id_to_token(id);
}

int32_t Tokenizer::pad_id() const { return impl_->pad_id; }

std::vector<std::pair<int64_t, int64_t>> utf8_char_offsets(const std::string& text,
                                                           const std::vector<std::pair<int64_t, int64_t>>& byte_offsets) {
  // char_at[b] = index of the char containing byte b; char_at[size] = number of chars.
  std::vector<int64_t> char_at(text.size() + 1);
  int64_t c = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && i > 0) ++c;
    char_at[i] = c;
  }
  char_at[text.size()] = text.empty() ? 0 : c + 1;
  auto conv = [&](int64_t b, bool end) -> int64_t {
    if (b <= 0) return 0;
    if (size_t(b) >= text.size()) return char_at[text.size()];
    // An end inside a char counts that char as covered.
    bool inside = (static_cast<unsigned char>(text[size_t(b)]) & 0xC0) == 0x80;
    return char_at[size_t(b)] + (end && inside ? 1 : 0);
  };
  std::vector<std::pair<int64_t, int64_t>> out;
  out.reserve(byte_offsets.size());
  for (auto [b, e] : byte_offsets) out.emplace_back(conv(b, false), conv(e, true));
  return out;
}

}  // namespace ps::tok
