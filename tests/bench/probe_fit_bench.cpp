// Seconds per AST-Probe fit at a given scale, on synthetic in-memory data (random vectors and labels with
// CodeSearchNet-sized vocabularies; the cost of a step does not depend on the values). A full fit is
// max_epochs × (steps_per_epoch steps + one validation pass); the bench times `--steps` steps (after one
// untimed 10-step warm-up fit) and one validation pass, and extrapolates, so a paper-scale fit
// (20k snippets × 768 × k 128, 625 × 20 steps) is measured in seconds, not minutes.
// tests/bench/probe_vs_torch.py runs it beside a PyTorch-eager loop on the same data (--dump).
// Usage: probe_fit_bench [--train 20000] [--valid 2000] [--dim 768] [--rank 128] [--min-words 20]
//        [--max-words 40] [--steps 100] [--fit-steps 625] [--fit-epochs 20] [--threads 2]
//        [--precision fp32|bf16|both] [--dump DIR] [--seed 1]
// Prints one line per precision: "RESULT precision=fp32 step_ms=... valid_s=... fit_s=...".
#include <c10/util/Half.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>

#include "models/util/blas_kernel.h"
#include "probes/ast_probe.h"

using namespace ps::probes;

namespace {

struct Args {
  int train = 20000, valid = 2000, dim = 768, rank = 128, min_words = 20, max_words = 40;
  int steps = 100, fit_steps = 625, fit_epochs = 20, threads = 2, n_c = 200, n_u = 60;
  std::string precision = "both", dump;
  uint64_t seed = 1;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    int* ints[] = {&a.train, &a.valid, &a.dim, &a.rank, &a.min_words, &a.max_words, &a.steps, &a.fit_steps,
                   &a.fit_epochs, &a.threads, &a.n_c, &a.n_u};
    const char* names[] = {"--train", "--valid", "--dim", "--rank", "--min-words", "--max-words", "--steps",
                           "--fit-steps", "--fit-epochs", "--threads", "--n-c", "--n-u"};
    bool found = false;
    for (size_t q = 0; q < sizeof names / sizeof *names; ++q)
      if (k == names[q]) *ints[q] = std::atoi(v.c_str()), found = true;
    if (k == "--precision") a.precision = v, found = true;
    if (k == "--dump") a.dump = v, found = true;
    if (k == "--seed") a.seed = std::strtoull(v.c_str(), nullptr, 10), found = true;
    if (!found) throw std::runtime_error("probe_fit_bench: unknown option " + k);
  }
  if (argc % 2 == 0) throw std::runtime_error("probe_fit_bench: options come in pairs");
  return a;
}

// Random d in 1..8 (tree heights), c and u uniform over the vocabularies, vectors N(0, 1) rounded to
// fp16 (as stores hold them) so that --dump hands the baseline exactly these values.
ProbeDataset make(int n, const Args& a, std::mt19937_64& rng) {
  ProbeDataset ds;
  ds.dim = a.dim;
  ds.n_c_labels = a.n_c;
  ds.n_u_labels = a.n_u;
  std::normal_distribution<float> g(0.0f, 1.0f);
  ds.samples.resize(n);
  for (ProbeSample& s : ds.samples) {
    s.n_words = a.min_words + static_cast<int>(rng() % (a.max_words - a.min_words + 1));
    s.vectors.resize(static_cast<size_t>(s.n_words) * a.dim);
    for (float& v : s.vectors) v = static_cast<float>(c10::Half(g(rng)));
    for (int i = 0; i < s.n_words; ++i) s.u.push_back(static_cast<int32_t>(rng() % a.n_u));
    for (int i = 0; i + 1 < s.n_words; ++i) {
      s.d.push_back(1 + static_cast<int32_t>(rng() % 8));
      s.c.push_back(static_cast<int32_t>(rng() % a.n_c));
    }
  }
  return ds;
}

// DIR/meta.txt, lengths.i32, d.i32, c.i32, u.i32 (flat), vectors.f16 (all words, row-major): train first.
void dump(const std::string& dir, const ProbeDataset& train, const ProbeDataset& valid) {
  std::ofstream meta(dir + "/meta.txt");
  meta << train.samples.size() << " " << valid.samples.size() << " " << train.dim << " " << train.n_c_labels << " "
       << train.n_u_labels << "\n";
  std::ofstream len(dir + "/lengths.i32", std::ios::binary), d(dir + "/d.i32", std::ios::binary),
      c(dir + "/c.i32", std::ios::binary), u(dir + "/u.i32", std::ios::binary), v(dir + "/vectors.f16", std::ios::binary);
  std::vector<c10::Half> half;
  for (const ProbeDataset* ds : {&train, &valid})
    for (const ProbeSample& s : ds->samples) {
      len.write(reinterpret_cast<const char*>(&s.n_words), 4);
      d.write(reinterpret_cast<const char*>(s.d.data()), 4 * s.d.size());
      c.write(reinterpret_cast<const char*>(s.c.data()), 4 * s.c.size());
      u.write(reinterpret_cast<const char*>(s.u.data()), 4 * s.u.size());
      half.assign(s.vectors.begin(), s.vectors.end());
      v.write(reinterpret_cast<const char*>(half.data()), 2 * half.size());
    }
  if (!meta || !len || !d || !c || !u || !v) throw std::runtime_error("probe_fit_bench: cannot write " + dir);
}

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) try {
  ps::reexec_with_better_blas_kernel(argv);  // as the probescope executable does
  const Args a = parse(argc, argv);
  std::mt19937_64 rng(a.seed);
  auto t0 = std::chrono::steady_clock::now();
  const ProbeDataset train = make(a.train, a, rng), valid = make(a.valid, a, rng);
  std::printf("data: %d train (%lld words) + %d valid snippets x %d, %d-%d words, in %.1f s\n", a.train,
              static_cast<long long>(total_words(train)), a.valid, a.dim, a.min_words, a.max_words, since(t0));
  if (!a.dump.empty()) dump(a.dump, train, valid);
  for (const std::string prec : {"fp32", "bf16"}) {
    if (a.precision != "both" && a.precision != prec) continue;
    AstProbeConfig cfg;
    cfg.rank = a.rank;
    cfg.threads = a.threads;
    cfg.bf16 = prec == "bf16" ? AstProbeConfig::Bf16::on : AstProbeConfig::Bf16::off;
    cfg.max_epochs = 1;
    cfg.seed = a.seed;
    // A warm-up fit of 10 steps (untimed), then one epoch of the timed steps, whose seconds include one
    // validation pass (timed again below and subtracted).
    cfg.steps_per_epoch = 10;
    train_ast_probe(train, valid, cfg);
    double epoch_s = 0;
    cfg.steps_per_epoch = a.steps;
    cfg.on_epoch = [&](const EpochLog& e) { epoch_s = e.seconds; };
    const AstProbeFit fit = train_ast_probe(train, valid, cfg);
    t0 = std::chrono::steady_clock::now();
    ast_probe_loss(fit.model, valid, cfg.batch_size);
    const double valid_s = since(t0);
    const double step_s = std::max(0.0, epoch_s - valid_s) / a.steps;
    const double fit_s = a.fit_epochs * (a.fit_steps * step_s + valid_s);
    std::printf("RESULT precision=%s step_ms=%.3f valid_s=%.3f fit_s=%.1f (valid loss %.4f)\n", prec.c_str(),
                1e3 * step_s, valid_s, fit_s, fit.best_valid_loss);
    std::fflush(stdout);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 2;
}
