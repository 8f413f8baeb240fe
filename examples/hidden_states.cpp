// Hidden states of a snippet: open a model directory, tokenize the snippet, run it through the Engine and
// print the mean L2 norm of every layer's hidden states (layer 0 = embeddings, as in Hugging Face).
//   hidden_states MODEL_DIR ["code snippet"]
#include <cmath>
#include <cstdio>
#include <exception>
#include <string>

#include "probescope.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL_DIR [SNIPPET]\n", argv[0]);
    return 2;
  }
  const std::string snippet = argc > 2 ? argv[2] : "def add(a, b):\n    return a + b\n";
  try {
    const ps::models::OpenedModel m = ps::models::open_model(ps::models::ModelSource::directory(argv[1]));
    if (!m.tokenizer) throw ps::InputError(std::string(argv[1]) + ": no tokenizer.json");
    const std::vector<int32_t> ids = m.tokenizer->encode(snippet).ids;

    const int64_t n_layers = m.engine->model().arch().n_layers;
    ps::models::Capture capture;
    for (int64_t l = 0; l <= n_layers; ++l) capture.hooks.insert("hidden_states." + std::to_string(l));
    // One sequence; the states come back on the CPU as float32 [len, d].
    const auto states = m.engine->run({ids}, capture).front();

    std::printf("%s: %zu tokens, %lld layers\n", m.label.c_str(), ids.size(), static_cast<long long>(n_layers));
    for (int64_t l = 0; l <= n_layers; ++l) {
      const at::Tensor h = states.hooks.at("hidden_states." + std::to_string(l)).contiguous();
      const int64_t len = h.size(0), d = h.size(1);
      const float* x = h.data_ptr<float>();
      double sum = 0;
      for (int64_t t = 0; t < len; ++t) {
        double sq = 0;
        for (int64_t j = 0; j < d; ++j) sq += double(x[t * d + j]) * x[t * d + j];
        sum += std::sqrt(sq);
      }
      std::printf("layer %lld: mean norm %.4f\n", static_cast<long long>(l), sum / double(len));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hidden_states: %s\n", e.what());
    return 1;
  }
  return 0;
}
