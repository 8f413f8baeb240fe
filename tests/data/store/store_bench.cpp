// Write throughput of the store: fp16 activations, 768 dims, raw and gzip, with and without the crash
// journal (per-commit XXH64 digests + flush marker), and with the journal fsynced.
// Usage: store_bench [rows=200000] [dir=/tmp] [snippets_per_commit=32]. Prints MB/s of stored
// activation bytes and each journal mode's ratio to no journal, measured in the same run (best of 3,
// interleaved, so machine load hits every mode alike), by wall-clock and by process CPU time.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <random>
#include <string>

#include "data/store/half.h"
#include "data/store/hash.h"
#include "data/store/writer.h"

using namespace ps::store;

namespace {
struct Mode {
  const char* name;
  bool journal, fsync;
};

struct Time {
  double wall, cpu;  // seconds; cpu = user + system of this process (std::clock), steadier under load
};

Time run(const std::string& path, const Block& act, int64_t rows, int64_t per_snippet, int64_t per_batch, int gzip,
           const Mode& mode) {
  WriterOptions o;
  o.mode = WriterOptions::Mode::overwrite;
  o.gzip = gzip;
  o.journal = mode.journal;
  o.journal_fsync = mode.fsync;
  auto t0 = std::chrono::steady_clock::now();
  std::clock_t c0 = std::clock();
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
  Time t{std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
         double(std::clock() - c0) / CLOCKS_PER_SEC};
  std::filesystem::remove(path);
  return t;
}
}  // namespace

int main(int argc, char** argv) {
  const int64_t rows = argc > 1 ? std::stoll(argv[1]) : 200000, d = 768, per_snippet = 256;
  std::string dir = argc > 2 ? argv[2] : "/tmp";
  const int64_t per_batch = argc > 3 ? std::stoll(argv[3]) : 32;
  // Gaussian values (what hidden states look like) as fp16 bits; one batch reused, new ids each time.
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.f, 1.f);
  Block act(DType::f16, d);
  std::vector<uint16_t> row(static_cast<size_t>(d));
  for (int64_t r = 0; r < per_snippet * per_batch; ++r) {
    for (auto& x : row) x = float_to_half(nd(rng));
    act.append(row.data(), 1);
  }
  {
    auto t0 = std::chrono::steady_clock::now();
    StreamHash h;
    for (int i = 0; i < 20; ++i) h.update(act.bytes.data(), act.bytes.size());
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    printf("XXH64 streaming: %.1f GB/s (digest %016llx)\n", 20.0 * double(act.bytes.size()) / s / 1e9,
           static_cast<unsigned long long>(h.digest()));
  }
  const int64_t per_commit = per_snippet * per_batch;
  const int64_t written = (rows + per_commit - 1) / per_commit * per_commit;
  const double mb = double(written) * d * 2 / 1e6;
  printf("%lld rows, a commit every %lld rows (%.1f MB)\n", static_cast<long long>(written),
         static_cast<long long>(per_commit), double(per_commit) * d * 2 / 1e6);
  const Mode modes[] = {{"no journal", false, false}, {"journal", true, false}, {"journal+fsync", true, true}};
  for (int gzip : {0, 1}) {
    Time best[3] = {{1e30, 1e30}, {1e30, 1e30}, {1e30, 1e30}};
    for (int rep = 0; rep < 3; ++rep)
      for (int m = 0; m < 3; ++m) {
        std::string path = dir + "/store_bench_" + std::to_string(gzip) + ".h5";
        Time t = run(path, act, rows, per_snippet, per_batch, gzip, modes[m]);
        best[m] = {std::min(best[m].wall, t.wall), std::min(best[m].cpu, t.cpu)};
      }
    for (int m = 0; m < 3; ++m)
      printf("gzip=%d %-14s %7.0f MB/s  wall %.3fx, cpu %.3fx the no-journal run\n", gzip, modes[m].name,
             mb / best[m].wall, best[m].wall / best[0].wall, best[m].cpu / best[0].cpu);
  }
}
