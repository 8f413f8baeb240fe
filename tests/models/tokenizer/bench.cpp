// tokenizer_bench TOKENIZER_JSON TEXT_FILE [RUNS]: tokens/s of ps::tok::Tokenizer::encode (one thread).
// Compare with: NODE_PATH=.cache/node/node_modules node tests/models/tokenizer/make_reference.js --bench ...
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "models/tokenizer/tokenizer.h"
#include "models/util/error.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s tokenizer.json text_file [runs]\n", argv[0]);
    return 2;
  }
  try {
    auto tok = ps::tok::Tokenizer::from_file(argv[1]);
    std::ifstream in(argv[2], std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    int runs = argc > 3 ? std::atoi(argv[3]) : 20;
    size_t n = tok.encode(text, false).ids.size();
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < runs; ++i) tok.encode(text, false);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("{\"tokens\": %zu, \"runs\": %d, \"seconds\": %.3f, \"tokens_per_s\": %.0f}\n", n, runs, s, n * runs / s);
  } catch (const ps::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return e.exit_code();
  }
  return 0;
}
