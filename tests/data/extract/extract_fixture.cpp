#include "tests/data/extract/extract_fixture.h"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/store/reader.h"
#include "models/util/files.h"
#include "tests/models/transformer/tiny_models.h"
#include "tests/common/scratch.h"

namespace ps::extract::testing {

namespace fs = std::filesystem;

namespace {

// GPT-2's printable mapping of bytes to unicode code points (bytes_to_unicode).
std::vector<std::string> byte_chars() {
  std::vector<int> cps(256, -1);
  for (int b = 33; b <= 126; ++b) cps[b] = b;
  for (int b = 161; b <= 172; ++b) cps[b] = b;
  for (int b = 174; b <= 255; ++b) cps[b] = b;
  int n = 0;
  for (int b = 0; b < 256; ++b)
    if (cps[b] < 0) cps[b] = 256 + n++;
  std::vector<std::string> out;
  for (int cp : cps) {
    std::string s;
    if (cp < 0x80) s += char(cp);
    else s += char(0xC0 | (cp >> 6)), s += char(0x80 | (cp & 0x3F));
    out.push_back(s);
  }
  return out;
}

std::string tokenizer_json() {
  const auto bc = byte_chars();
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[bc[b]] = b;
  // A few code merges so some words span several subwords and some subwords span a word exactly.
  const std::string G = bc[' '];
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"d", "e"}, {"de", "f"}, {"r", "e"}, {"re", "t"}, {"ret", "u"}, {"retu", "r"}, {"retur", "n"},
      {G, G}, {G + G, G + G}, {"s", "e"}, {"se", "l"}, {"sel", "f"}, {G, "x"}, {"i", "f"}, {G, "="}};
  nlohmann::json mj = nlohmann::json::array();
  int id = 256;
  for (const auto& [a, b] : merges) {
    mj.push_back(a + " " + b);
    vocab[a + b] = id++;
  }
  nlohmann::json added = {{{"id", id}, {"content", "<|endoftext|>"}, {"single_word", false}, {"lstrip", false},
                           {"rstrip", false}, {"normalized", false}, {"special", true}}};
  nlohmann::json bl = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  nlohmann::json t = {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}, {"added_tokens", added},
                      {"normalizer", nullptr}, {"pre_tokenizer", bl}, {"post_processor", bl}, {"decoder", bl},
                      {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr},
                                 {"continuing_subword_prefix", ""}, {"end_of_word_suffix", ""}, {"fuse_unk", false},
                                 {"byte_fallback", false}, {"vocab", vocab}, {"merges", mj}}}};
  return t.dump();
}

std::string function_source(int i) {
  std::ostringstream s;
  s << "def f" << i << "(self, x, y=" << i % 7 << "):\n";
  s << "    # comment " << i << " is removed before parsing\n";
  const int body = 1 + i % 5;
  for (int k = 0; k < body; ++k) {
    if (k % 3 == 0) s << "    if x > " << k << ":\n        x = x + y * " << k << "\n";
    else if (k % 3 == 1) s << "    for e in range(" << k + i << "):\n        y = self.g(e, 'a', x)\n";
    else s << "    z = [v for v in x if v]\n";
  }
  s << "    return x + y\n";
  return s.str();
}

}  // namespace

std::string temp_dir(const std::string& tag) {
  return ps::test::scratch_dir(tag).string();
}

std::string tiny_model_dir() {
  const std::string dir = temp_dir("model");
  ps::test::TinyDims dims;
  dims.vocab = 256 + 16;
  dims.positions = 256;
  ps::test::write_model(dir, ps::test::tiny_spec(ps::test::Tiny::GPT2, 3, dims));
  write_file_atomic(dir + "/tokenizer.json", tokenizer_json());
  return dir;
}

std::string write_corpus(const std::string& dir, int n, bool with_bad) {
  std::string text;
  for (int i = 0; i < n; ++i) {
    std::string code = function_source(i);
    if (with_bad && i == n / 2) code = "def broken(:\n    return )\n";
    nlohmann::json j = {{"id", "snip" + std::to_string(i)}, {"language", "python"}, {"code", code},
                        {"func_name", "f" + std::to_string(i)}, {"split", i % 10 == 0 ? "test" : "train"}};
    text += j.dump() + "\n";
  }
  const std::string path = dir + "/corpus.jsonl";
  write_file_atomic(path, text);
  return path;
}

ExtractOptions tiny_options(const std::string& model, const std::string& corpus, const std::string& out) {
  ExtractOptions o;
  o.model_dir = model;
  o.corpus = corpus;
  o.out = out;
  o.store_dtype = "float32";
  o.engine.threads = 1;
  o.engine.token_budget = 1024;
  return o;
}

std::string dump_store(const std::string& path, bool by_id, bool act_bytes) {
  store::StoreReader r(path);
  std::map<std::string, std::string> per_snippet;
  std::vector<std::string> order;
  for (int64_t i = 0; i < r.num_samples(); ++i) {
    const auto b = r.read_batch(i, i + 1);
    const auto& s = b.snippets.at(0);
    std::ostringstream o;
    o << s.id << " ids";
    for (auto v : s.input_ids) o << ' ' << v;
    o << " spans";
    for (auto sp : s.char_spans) o << ' ' << sp.begin << ':' << sp.end;
    o << " words";
    for (auto sp : s.word_spans) o << ' ' << sp.begin << ':' << sp.end;
    for (auto sp : s.word_subwords) o << ' ' << sp.begin << '-' << sp.end;
    o << " d";
    for (auto v : s.syn_d) o << ' ' << v;
    o << " c";
    for (const auto& v : s.syn_c) o << ' ' << v;
    o << " u";
    for (const auto& v : s.syn_u) o << ' ' << v;
    for (const auto& [name, a] : b.acts)
      if (act_bytes) o << "\n" << name << ' ' << std::string(a.data.bytes.begin(), a.data.bytes.end()).size()
                                             << ' ' << std::hash<std::string>{}(std::string(a.data.bytes.begin(), a.data.bytes.end()));
    for (const auto& [name, t] : b.tables)
      for (const auto& [col, blk] : t.columns)
        o << "\n" << name << '/' << col << ' ' << std::hash<std::string>{}(std::string(blk.bytes.begin(), blk.bytes.end()));
    per_snippet[s.id] = o.str();
    order.push_back(s.id);
  }
  if (by_id) std::sort(order.begin(), order.end());
  std::string out;
  for (const auto& id : order) out += per_snippet[id] + "\n";
  return out;
}

float max_act_diff(const std::string& a, const std::string& b) {
  store::StoreReader ra(a), rb(b);
  std::map<std::string, int64_t> index_b;
  for (int64_t i = 0; i < rb.num_samples(); ++i) index_b[rb.id(i)] = i;
  float worst = 0;
  for (const auto& name : ra.act_names())
    for (int64_t i = 0; i < ra.num_samples(); ++i) {
      const auto x = ra.acts(name, i), y = rb.acts(name, index_b.at(ra.id(i)));
      if (x.data.size() != y.data.size()) return INFINITY;
      for (size_t k = 0; k < x.data.size(); ++k) worst = std::max(worst, std::abs(x.data[k] - y.data[k]));
    }
  return worst;
}

std::string read_log(const std::string& path) {
  try {
    return read_file(path);
  } catch (const std::exception&) {
    return "";
  }
}

std::string roberta_tokenizer_json() {
  auto t = nlohmann::json::parse(tokenizer_json());
  for (auto [id, text] : {std::pair{kRobertaBos, "<s>"}, std::pair{kRobertaEos, "</s>"}, std::pair{kRobertaMask, "<mask>"}})
    t["added_tokens"].push_back({{"id", id}, {"content", text}, {"single_word", false}, {"lstrip", false},
                                 {"rstrip", false}, {"normalized", false}, {"special", true}});
  t["post_processor"] = {{"type", "RobertaProcessing"}, {"sep", {"</s>", kRobertaEos}}, {"cls", {"<s>", kRobertaBos}},
                         {"trim_offsets", true}, {"add_prefix_space", false}};
  return t.dump();
}

std::string probescope_path() { return std::string(PS_BINARY_DIR) + "/app/cli/probescope"; }

}  // namespace ps::extract::testing
