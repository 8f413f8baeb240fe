// Manifest, shard parsing, record counting and the human summary.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/extract/context_prefix.h"
#include "data/extract/detail/pipeline.h"
#include "models/util/error.h"
#include "models/util/sha256.h"

#ifndef PS_VERSION
#define PS_VERSION "0.1.0"
#endif

namespace ps::extract {

std::pair<int, int> parse_shard(const std::string& spec) {
  const auto slash = spec.find('/');
  int i = -1, n = 0;
  char tail = 0;
  if (slash == std::string::npos || std::sscanf(spec.c_str(), "%d/%d%c", &i, &n, &tail) != 2 || n < 1 || i < 0 || i >= n)
    throw InputError("--shard: '" + spec + "' is not i/N with 0 <= i < N (e.g. 0/4)");
  return {i, n};
}

int64_t count_records(const std::string& jsonl, int shard_index, int shard_count) {
  std::ifstream in(jsonl, std::ios::binary);
  if (!in) throw InputError(jsonl + ": cannot open");
  std::string line;
  int64_t record = 0, mine = 0;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (record++ % shard_count == shard_index) ++mine;
  }
  return mine;
}

std::string ExtractSummary::skip_counts() const {
  std::string out;
  for (int k = 1; k < kNumSkips; ++k)
    if (skipped[k]) out += std::string(out.empty() ? "" : ", ") + skip_name(Skip(k)) + " " + std::to_string(skipped[k]);
  return out;
}

std::string ExtractSummary::format() const {
  char buf[1024];
  const double pad_avoided = padded_slots > 0 ? 1.0 - double(slots) / double(padded_slots) : 0.0;
  std::string s;
  std::snprintf(buf, sizeof buf,
                "%s: %lld snippets in the store (%lld written now, %lld resumed), %lld tokens, %lld words\n"
                "  %lld forwards, %lld token slots (padding %.1f%%); one-per-row padding would have needed %lld "
                "(%.1f%% avoided)\n"
                "  %.1f s (%.1f s in forwards, %.1f s loading the model), %.0f tokens/s, %.1f MB on disk%s\n",
                out.c_str(), (long long)total_snippets, (long long)snippets, (long long)resumed_from,
                (long long)tokens, (long long)words, (long long)forwards, (long long)slots,
                slots ? 100.0 * (1.0 - double(tokens + prefix_tokens) / double(slots)) : 0.0, (long long)padded_slots,
                100.0 * pad_avoided, seconds, forward_seconds, load_seconds, seconds > 0 ? double(tokens) / seconds : 0.0,
                double(file_bytes) / 1e6, complete ? "" : " (NOT complete: rerun the same command to resume)");
  s += buf;
  std::snprintf(buf, sizeof buf,
                "  alignment %s: %lld adjacent word pairs share a subword, %lld words fell back to the nearest subword\n",
                align.c_str(), (long long)shared_pairs, (long long)fallback_words);
  s += buf;
  if (!layer_note.empty()) s += "  " + layer_note + "\n";
  if (prefix_tokens > 0) s += "  " + std::to_string(prefix_tokens) + " --context-prefix tokens run before the functions (not stored)\n";
  const std::string skips = skip_counts();
  s += "  " + std::to_string(records) + " corpus records of this shard read; skipped: " + (skips.empty() ? "none" : skips) + "\n";
  return s;
}

namespace detail {

store::Manifest make_manifest(const ExtractOptions& opt, const Plan& plan, const std::string& model_hash,
                              const std::string& corpus_hash, const std::string& model_label) {
  namespace k = store::key;
  std::string hooks;
  for (Hook h : plan.hooks) hooks += std::string(hooks.empty() ? "" : ",") + hook_name(h);
  // Settings that change the stored numbers (a resume with any of them different is refused).
  nlohmann::json settings = {
      {"layers", join_ints(plan.layers)}, {"hooks", hooks}, {"token_layers", join_ints(plan.token_layers)},
      {"attention_layers", join_ints(plan.attention_layers)}, {"heads", join_ints(plan.heads)},
      {"store_dtype", store::dtype_name(plan.store_dtype)}, {"align", align::mode_name(plan.prepare.align_mode)},
      {"pool", opt.pool}, {"raw_last_block", plan.raw_last_block ? "words/" + plan.raw_last_block_hook() : ""},
      {"syntax", plan.prepare.syntax ? "on" : "off"}, {"language", plan.language},
      {"dtype", opt.engine.dtype}, {"device", opt.engine.device},
      {"packing", models::packing_name(opt.engine.packing)}, {"token_budget", opt.engine.token_budget},
      {"mask", opt.engine.mask}, {"group_tokens", plan.group_tokens},
      {"shard_count", opt.shard_count}, {"limit", opt.limit}, {"splits", opt.splits}, {"gzip", opt.gzip},
      {"weights", opt.random_weights ? std::string(opt.random_keep_embeddings ? "random-encoder:" : "random:") +
                                            std::to_string(*opt.random_weights)
                                      : "checkpoint"}};
  // Only when some scaling ran, so stores of unscaled models keep their settings hash.
  if (!plan.rope_scaling.empty()) settings["rope_scaling"] = plan.rope_scaling;
  if (!opt.limit_per_split.empty()) settings["limit_per_split"] = opt.limit_per_split;  // only when set, as above
  // Likewise only with a prefix, so stores without one are unchanged.
  if (plan.prepare.prefix_tokens > 0) {
    settings["context_prefix"] = plan.prepare.prefix_tokens;
    settings["context_prefix_scheme"] = kContextPrefixScheme;
    settings["context_prefix_seed"] = std::to_string(opt.context_prefix_seed);
    settings["context_prefix_separator"] = plan.prefix_separator;
  }
  store::Manifest m;
  for (auto it = settings.begin(); it != settings.end(); ++it)
    m[it.key()] = it->is_string() ? it->get<std::string>() : it->dump();
  m[k::settings_hash] = sha256_hex(settings.dump());
  // The shard index may differ between stores that merge joins; everything else must agree.
  m[k::shard] = std::to_string(opt.shard_index) + "/" + std::to_string(opt.shard_count);
  // A shared in-memory engine (GUI, benchmarks) may come without a directory.
  m[k::model_path] = opt.model_dir.empty() ? "in-memory" : std::filesystem::absolute(opt.model_dir).lexically_normal().string();
  m[k::model_hash] = model_hash;
  m["model_label"] = model_label;
  m["n_layers"] = std::to_string(plan.n_layers);
  m["d_model"] = std::to_string(plan.d_model);
  m["corpus_path"] = std::filesystem::absolute(opt.corpus).lexically_normal().string();
  m[k::corpus_hash] = corpus_hash;
  m[k::seed] = opt.random_weights ? std::to_string(*opt.random_weights) : "none";
  m[k::tool_version] = PS_VERSION;
  m["layer_convention"] = "layer L = hidden_states[L]; attention layer L = block L-1";
  if (plan.final_norm && plan.n_layers > 0) {
    // hidden_states[n] is ln_f(block n-1's output): its own scale, so listings show it as "n (ln_f)".
    m["final_norm"] = "ln_f";
    m["final_norm_layer"] = std::to_string(plan.n_layers);
  }
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  m[k::created_at] = stamp;
  return m;
}

}  // namespace detail
}  // namespace ps::extract
