#pragma once
// Each command file adds one subcommand; main() wires them and turns ps::Error into one line + exit code.
#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>

#include "models/transformer/engine.h"
#include "models/util/progress.h"

namespace ps::cli {

// Commands register themselves, so a new cmd_*.cpp needs no edit here or in main.cpp:
//   static const ps::cli::CommandRegistration reg{30, add_extract_command};
// `order` fixes their place in `probescope --help` (lower first).
using AddCommand = void (*)(CLI::App& app);
struct CommandRegistration {
  CommandRegistration(int order, AddCommand add);
};
void add_registered_commands(CLI::App& app);

// `probescope bench` is one command with a subcommand per benchmark; each bench file adds its own.
CLI::App& bench_command(CLI::App& app);

// Engine flags shared by every command that runs a model.
struct EngineFlags {
  std::string device = "cpu", dtype = "auto", packing = "prepacked", mask = "default";
  std::string rope_scaling;  // "" = the checkpoint's own (LoadOptions::rope_scaling)
  int threads = 0;
  int64_t token_budget = 8192;
  void add_to(CLI::App& cmd);
  ps::models::EngineOptions options() const;
};

// While alive, the first SIGINT/SIGTERM marks the guard interrupted and cancels every Progress it watches,
// including ones watched after the signal (said makes one Progress per run), so long work stops at its next
// safe boundary and leaves resumable output; a second signal kills as usual. The default handlers come back
// when it goes out of scope, so no handler ever points at a destroyed Progress, whatever the command throws.
class CancelOnInterrupt {
 public:
  CancelOnInterrupt();
  explicit CancelOnInterrupt(Progress& progress);  // and watch(progress)
  ~CancelOnInterrupt();
  CancelOnInterrupt(const CancelOnInterrupt&) = delete;
  CancelOnInterrupt& operator=(const CancelOnInterrupt&) = delete;

  void watch(Progress& progress);  // cancelled at once if a signal already arrived
  void unwatch(Progress& progress);
  // A Progress watched for exactly its lifetime: for work that creates and drops one Progress per part.
  std::shared_ptr<Progress> watched(std::unique_ptr<Progress> progress);
  bool interrupted() const;
};

// Wraps a command body: errors become "probescope <cmd>: <message>" and the typed exit code.
std::function<void()> guarded(const std::string& name, std::function<void()> body);
int exit_code();  // of the command that ran
void set_exit_code(int code);  // for a command that reports its failures itself (verify: one line per file)

}  // namespace ps::cli
