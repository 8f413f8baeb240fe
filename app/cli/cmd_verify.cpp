// probescope verify FILE.h5...: checks stores in full (every dataset against its checksum, and the
// structure) without using them; one line per file. Exit 0 all good, 1 a store is damaged, 2 bad input
// (no such file, not a store).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "app/cli/commands.h"
#include "data/store/integrity.h"
#include "data/store/reader.h"
#include "models/util/error.h"

namespace ps::cli {

namespace {
// One file: "FILE: OK ..." on stdout, or the one-line failure on stderr; returns the exit code.
int verify_one(const std::string& path) {
  try {
    auto t0 = std::chrono::steady_clock::now();
    ps::store::StoreReader r(path);
    ps::store::VerifyReport rep = r.verify();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::error_code ec;
    double mb = double(std::filesystem::file_size(path, ec)) / 1e6;
    std::string what = rep.checksums ? "checksums and structure of " + std::to_string(rep.datasets) + " datasets"
                       : r.complete() ? "structure only: no checksums (written before stores kept them)"
                                      : "structure only: unfinished store (checksums are kept by finish)";
    std::printf("%s: OK (%s; %d snippets, %.1f MB in %.2f s)\n", path.c_str(), what.c_str(), int(r.num_samples()), mb, secs);
    return 0;
  } catch (const ps::store::CorruptStore& e) {
    std::fprintf(stderr, "probescope verify: %s\n", e.what());
    return 1;
  } catch (const ps::Error& e) {
    std::fprintf(stderr, "probescope verify: %s\n", e.what());
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "probescope verify: %s: out of memory\n", path.c_str());
    return 1;
  }
}
}  // namespace

void add_verify_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "verify",
      "Check stores in full: every dataset against the XXH64 checksum kept by the writer, and the structure "
      "(offsets, row counts, label ids). Prints FILE: OK or the one-line failure. Exit 0 all OK, 1 a store is "
      "damaged, 2 bad input (missing file, not a store)");
  auto files = std::make_shared<std::vector<std::string>>();
  cmd->add_option("FILES", *files, "stores (.h5)")->required();
  cmd->callback(guarded("verify", [files] {
    int code = 0;
    for (const auto& f : *files) code = std::max(code, verify_one(f));
    set_exit_code(code);
  }));
}

static const CommandRegistration registration{35, add_verify_command};

}  // namespace ps::cli
