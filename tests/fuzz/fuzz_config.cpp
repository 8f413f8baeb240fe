// libFuzzer target: config.json -> ArchSpec (models/config) on arbitrary bytes, then the weight list the
// checkpoint loader derives from it. Contract: a spec whose sizes are consistent, or a one-line
// ps::InputError naming the file. Anything else (another exception, a sanitizer report, an allocation
// past -malloc_limit_mb) is a bug.
#include <cstdint>
#include <string>
#include <vector>

#include "models/config/arch.h"
#include "models/config/weights_map.h"
#include "tests/fuzz/fuzz_util.h"

using ps::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ps::models;
  const std::string src = "fuzz/config.json";
  try {
    const ArchSpec a = parse_arch(std::string(reinterpret_cast<const char*>(data), size), src);
    check(a.vocab_size > 0 && a.d_model > 0 && a.n_layers > 0 && a.n_heads > 0 && a.d_ff > 0, "sizes positive");
    check(a.n_kv_heads > 0 && a.n_heads % a.n_kv_heads == 0, "kv heads divide heads");
    check(a.head_dim > 0, "head_dim positive");
    check(a.positional != PositionalKind::Rotary || a.head_dim % 2 == 0, "rotary head_dim even");
    check(a.max_positions > 0 && a.max_positions <= a.max_position_embeddings, "max_positions in range");
    check(a.pad_token_id < a.vocab_size, "pad id inside the vocabulary");
    const auto specs = expected_weights(a);
    check(!specs.empty(), "some weights expected");
    for (const auto& w : specs) {
      check(!w.key.empty() && !w.hf_names.empty(), "weight named");
      for (int64_t d : w.hf_shape) check(d >= 0, "weight dims non-negative");
    }
    // The loader matches the specs against a checkpoint's names: a checkpoint holding exactly the first
    // candidate name of every spec (no base-model prefix) resolves completely.
    std::vector<std::string> names;
    for (const auto& w : specs) names.push_back(w.hf_names.front());
    const auto resolved = resolve_weights(a, names, src);
    check(resolved.size() == specs.size(), "every spec resolved");
  } catch (const ps::InputError& e) {
    ps::fuzz::check_error(e, src);
  }
  return 0;
}
