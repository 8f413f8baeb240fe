#include "tests/analysis/said/said_fixtures.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include "tests/common/scratch.h"

namespace ps::said::test {

models::ArchSpec tiny_arch(int64_t vocab) {
  models::ArchSpec a;
  a.family = models::Family::GPT2;
  a.model_type = "gpt2";
  a.vocab_size = vocab, a.d_model = 16, a.n_layers = 1, a.n_heads = 2, a.n_kv_heads = 2, a.head_dim = 8;
  a.d_ff = 32, a.max_positions = a.max_position_embeddings = 16;
  a.activation = models::Activation::GeluNew, a.causal = true, a.initializer_range = 0.2;
  return a;
}

std::shared_ptr<const models::Transformer> tiny_model(uint64_t seed, int64_t vocab) {
  return models::Transformer::random_init(tiny_arch(vocab), seed);
}

TaskData marker_task(int64_t n_train, int64_t n_valid, uint64_t seed, int64_t vocab) {
  std::mt19937_64 rng(seed);
  TaskData data;
  data.task = "marker";
  data.classes = {"absent", "present"};
  auto make = [&](int64_t n, std::vector<Example>& out) {
    for (int64_t i = 0; i < n; ++i) {
      Example x;
      x.label = int(i % 2);
      const int64_t len = 4 + int64_t(rng() % 7);
      for (int64_t k = 0; k < len; ++k) {
        int64_t t = 2 + int64_t(rng() % uint64_t(vocab - 2));
        while (t == 3) t = 2 + int64_t(rng() % uint64_t(vocab - 2));
        x.ids.push_back(t);
      }
      if (x.label == 1) x.ids[rng() % uint64_t(len)] = 3;
      x.id = "synthetic:" + std::to_string(i);
      out.push_back(std::move(x));
    }
  };
  make(n_train, data.train);
  make(n_valid, data.valid);
  return data;
}

std::string byte_tokenizer_json() {
  // GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others are shifted past U+0100.
  std::vector<int> cps(256, -1);
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    const bool keep = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    cps[b] = keep ? b : 256 + n++;
  }
  auto utf8 = [](int cp) {
    std::string s;
    if (cp < 0x80) s += char(cp);
    else {
      s += char(0xC0 | (cp >> 6));
      s += char(0x80 | (cp & 0x3F));
    }
    return s;
  };
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[utf8(cps[b])] = b;
  nlohmann::json bl = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  nlohmann::json j = {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr},
                      {"added_tokens", nlohmann::json::array()}, {"normalizer", nullptr},
                      {"pre_tokenizer", bl}, {"post_processor", bl}, {"decoder", bl},
                      {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr},
                                 {"continuing_subword_prefix", ""}, {"end_of_word_suffix", ""},
                                 {"fuse_unk", false}, {"byte_fallback", false}, {"vocab", vocab},
                                 {"merges", nlohmann::json::array()}}}};
  return j.dump();
}

std::string temp_dir(const std::string& tag) {
  return ps::test::scratch_dir(tag).string();
}

}  // namespace ps::said::test
