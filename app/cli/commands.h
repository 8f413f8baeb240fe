#pragma once
// Each command file adds one subcommand; main() wires them and turns ps::Error into one line + exit code.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "models/transformer/engine.h"

namespace ps::cli {

void add_inspect_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_corpus_command(CLI::App& app);
void add_parse_command(CLI::App& app);

// Engine flags shared by every command that runs a model.
struct EngineFlags {
  std::string device = "cpu", dtype = "float32", packing = "prepacked", mask = "default";
  int threads = 0;
  int64_t token_budget = 8192, pack_capacity = 0;
  void add_to(CLI::App& cmd);
  ps::models::EngineOptions options() const;
};

// Wraps a command body: errors become "probescope <cmd>: <message>" and the typed exit code.
std::function<void()> guarded(const std::string& name, std::function<void()> body);
int exit_code();  // of the command that ran

}  // namespace ps::cli
