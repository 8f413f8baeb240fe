// probescope: the headless face of Probescope. See `probescope --help` and the README.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <utility>
#include <vector>

#include "app/cli/commands.h"
#include "models/util/blas_kernel.h"
#include "models/util/error.h"

namespace ps::cli {

namespace {
int g_exit_code = 0;

std::vector<std::pair<int, AddCommand>>& registry() {
  static std::vector<std::pair<int, AddCommand>> commands;  // function-local: safe from init order
  return commands;
}
}  // namespace

CommandRegistration::CommandRegistration(int order, AddCommand add) { registry().emplace_back(order, add); }

void add_registered_commands(CLI::App& app) {
  auto commands = registry();
  std::stable_sort(commands.begin(), commands.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& c : commands) c.second(app);
}

void EngineFlags::add_to(CLI::App& cmd) {
  cmd.add_option("--device", device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd.add_option("--dtype", dtype, "compute dtype: auto (bfloat16 where a quick matmul check finds native bf16 at least 1.5x faster, "
                 "else float32; printed on stderr), float32, bfloat16, float16")->capture_default_str();
  cmd.add_option("--threads", threads, "CPU threads (0 = all hardware threads)")->capture_default_str();
  cmd.add_option("--token-budget", token_budget, "tokens per forward (padded modes: rows x row length); bounds memory")
      ->capture_default_str();
  cmd.add_option("--packing", packing,
                 "prepacked (sequences back to back, no padding; attention per length bucket), padded (one "
                 "sequence per row in input order), or sorted (padded after sorting by length)")
      ->capture_default_str();
  cmd.add_option("--mask", mask,
                 "attention mask: default, window:<W>, or lm-infinite:<G>:<L>[:<limit>|none] (LM-Infinite: the "
                 "first G keys plus the last L; rotary models score the far first-G keys at distance <limit>, "
                 "default L, 'none' = the mask alone; GPT-2/BERT get the mask alone; banded, memory O(n(G+L)), "
                 "always run prepacked)")
      ->capture_default_str();
  // A command with its own --rope-scaling (eval ppl names its settings by it) keeps that one.
  if (!cmd.get_option_no_throw("--rope-scaling"))
    cmd.add_option("--rope-scaling", rope_scaling,
                   "RoPE scaling for rotary (LLaMA-family) models, replacing the checkpoint's own config.json "
                   "rope_scaling: TYPE:factor[:key=value...] with TYPE linear, dynamic, yarn, llama3, longrope or "
                   "clex (training-free CLEX: step-wise dynamic NTK), keys as in HF's rope_scaling (e.g. yarn:4, "
                   "dynamic:2, llama3:8:original_max_position_embeddings=8192, clex:1:max_factor=16), or none; "
                   "empty = the checkpoint's. Length-dependent types use each sequence's own length. Refused for "
                   "GPT-2/BERT (learned positions)");
}

ps::models::EngineOptions EngineFlags::options() const {
  ps::models::EngineOptions o;
  o.device = device;
  o.dtype = dtype;
  o.threads = threads;
  o.token_budget = token_budget;
  o.packing = ps::models::packing_from_name(packing);
  o.mask = mask;
  o.rope_scaling = rope_scaling;
  return o;
}

std::function<void()> guarded(const std::string& name, std::function<void()> body) {
  return [name, body]() {
    try {
      body();
    } catch (const ps::Error& e) {
      std::fprintf(stderr, "probescope %s: %s\n", name.c_str(), e.what());
      g_exit_code = e.exit_code();
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "probescope %s: out of memory (lower --token-budget)\n", name.c_str());
      g_exit_code = 1;
    } catch (const std::exception& e) {
      // Anything untyped (e.g. a LibTorch error) is still one line, never a crash.
      std::string msg = e.what();
      msg = msg.substr(0, msg.find('\n'));
      std::fprintf(stderr, "probescope %s: %s\n", name.c_str(), msg.c_str());
      g_exit_code = 1;
    }
  };
}

int exit_code() { return g_exit_code; }
void set_exit_code(int code) { g_exit_code = code; }

namespace {
// Plain lock-free atomics only: the handler may run on any thread, between any two instructions.
constexpr int kMaxWatched = 16;
std::atomic<Progress*> g_watched[kMaxWatched];
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<Progress*>::is_always_lock_free && std::atomic<bool>::is_always_lock_free);

extern "C" void cancel_on_signal(int) {
  g_interrupted = true;  // before reading the slots: watch() stores a slot, then reads this flag
  for (auto& slot : g_watched)
    if (Progress* p = slot.load()) p->cancel();
}
}  // namespace

CancelOnInterrupt::CancelOnInterrupt() {
  g_interrupted = false;
  struct sigaction sa {};
  sa.sa_handler = cancel_on_signal;
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

CancelOnInterrupt::CancelOnInterrupt(Progress& progress) : CancelOnInterrupt() { watch(progress); }

CancelOnInterrupt::~CancelOnInterrupt() {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  for (auto& slot : g_watched) slot = nullptr;
}

void CancelOnInterrupt::watch(Progress& progress) {
  bool placed = false;
  for (auto& slot : g_watched) {
    Progress* empty = nullptr;
    if (slot.compare_exchange_strong(empty, &progress)) {
      placed = true;
      break;
    }
  }
  if (!placed) throw RuntimeError("internal: more than " + std::to_string(kMaxWatched) + " progress bars watched");
  if (g_interrupted) progress.cancel();
}

void CancelOnInterrupt::unwatch(Progress& progress) {
  for (auto& slot : g_watched) {
    Progress* p = &progress;
    slot.compare_exchange_strong(p, nullptr);
  }
}

std::shared_ptr<Progress> CancelOnInterrupt::watched(std::unique_ptr<Progress> progress) {
  if (!progress) return nullptr;
  watch(*progress);
  return std::shared_ptr<Progress>(progress.release(), [this](Progress* p) {
    unwatch(*p);
    delete p;
  });
}

bool CancelOnInterrupt::interrupted() const { return g_interrupted; }

}  // namespace ps::cli

int main(int argc, char** argv) {
  ps::reexec_with_better_blas_kernel(argv);  // before anything else: the process may start again
  ps::models::keep_large_allocations_in_heap();  // training and extraction both allocate [tokens, 4d] blocks
  CLI::App app{
      "probescope " PS_VERSION " - interpretability and probing for transformer LMs over code and text.\n"
      "Layer L means Hugging Face hidden_states[L]: layer 0 = embedding output, layer L = "
      "blocks.{L-1}.hook_resid_post; negative layers count from the end."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "probescope " PS_VERSION);
  ps::cli::add_registered_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return ps::cli::exit_code();
}
