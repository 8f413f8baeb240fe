// Write throughput of the store: fp16 activations, 768 dims, with and without gzip.
// Usage: store_bench [rows=200000] [dir=/tmp]. Prints MB/s of stored activation bytes.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include "data/store/half.h"
#include "data/store/writer.h"

using namespace ps::store;

int main(int argc, char** argv) {
  const int64_t rows = argc > 1 ? std::stoll(argv[1]) : 200000, d = 768, per_snippet = 256, per_batch = 32;
  std::string dir = argc > 2 ? argv[2] : "/tmp";
  // Gaussian values (what hidden states look like) as fp16 bits; one batch reused, new ids each time.
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.f, 1.f);
  Block act(DType::f16, d);
  std::vector<uint16_t> row(static_cast<size_t>(d));
  for (int64_t r = 0; r < per_snippet * per_batch; ++r) {
    for (auto& x : row) x = float_to_half(nd(rng));
    act.append(row.data(), 1);
  }
  for (int gzip : {0, 1, 4}) {
    std::string path = dir + "/store_bench_" + std::to_string(gzip) + ".h5";
    WriterOptions o;
    o.mode = WriterOptions::Mode::overwrite;
    o.gzip = gzip;
    auto t0 = std::chrono::steady_clock::now();
    {
      StoreWriter w(path, {{key::settings_hash, "bench"}}, o);
      for (int64_t done = 0, b = 0; done < rows; done += per_snippet * per_batch, ++b) {
        SnippetBatch batch;
        for (int64_t s = 0; s < per_batch; ++s) {
          Snippet sn;
          sn.id = std::to_string(b) + ":" + std::to_string(s);
          sn.input_ids.assign(size_t(per_snippet), 1);
          sn.char_spans.assign(size_t(per_snippet), Span{0, 1});
          batch.snippets.push_back(std::move(sn));
        }
        batch.acts["tokens/layer_1"] = ActBlock{Rows::tokens, DType::f16, act};
        w.append(batch);
        w.commit();
      }
      w.finish();
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    int64_t written = ((rows + per_snippet * per_batch - 1) / (per_snippet * per_batch)) * per_snippet * per_batch;
    double mb = double(written) * d * 2 / 1e6;
    printf("gzip=%d: %.0f MB fp16 acts (768-d) in %.2f s = %.0f MB/s; file %.0f MB\n", gzip, mb, s, mb / s,
           double(std::filesystem::file_size(path)) / 1e6);
    std::filesystem::remove(path);
  }
}
