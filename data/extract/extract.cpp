// extract(): settings → model, tokenizer and store → three-stage pipeline (see extract.h).
#include "data/extract/extract.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "data/align/boundary.h"
#include "data/corpus/readers.h"
#include "data/extract/context_prefix.h"
#include "data/extract/detail/bounded_queue.h"
#include "data/extract/detail/pipeline.h"
#include "data/store/manifest_fields.h"
#include "data/store/reader.h"
#include "data/store/writer.h"
#include "data/syntax/parse.h"
#include "models/config/arch.h"
#include "models/config/rope_scaling.h"
#include "models/open/open_model.h"
#include "models/safetensors/safetensors.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "models/util/sha256.h"
#include "models/util/spec.h"

namespace ps::extract {

namespace fs = std::filesystem;
using detail::Group;
using detail::Plan;

namespace {

// --limit-per-split (spec::named_counts): "N" caps every split; "train=3000,valid=500" caps those named ("" key =
// every other split).
using SplitCaps = std::map<std::string, int64_t>;
int64_t split_cap(const SplitCaps& caps, const std::string& split) {
  auto it = caps.find(split);
  if (it == caps.end()) it = caps.find("");
  return it == caps.end() ? INT64_MAX : it->second;
}
// The most snippets the caps allow when --splits names every split kept and each has a cap; -1 when unbounded.
int64_t caps_total(const SplitCaps& caps, const std::string& splits) {
  if (caps.empty() || splits.empty()) return -1;
  int64_t total = 0;
  for (const auto& s : spec::split_list(splits, "--splits")) {
    const int64_t cap = split_cap(caps, s);
    if (cap > INT64_MAX - total) return -1;  // no cap (INT64_MAX), or caps too large to add up
    total += cap;
  }
  return total;
}

struct StopReading {};  // thrown through the corpus reader's sink to stop early

// The first record's language (what --language auto keeps).
std::string first_language(const std::string& corpus) {
  corpus::Summary s;
  corpus::Reporter rep(s);
  corpus::ReadOptions ro;
  std::string lang;
  try {
    corpus::read_jsonl(corpus, ro, rep, [&](corpus::Snippet&& sn) {
      lang = sn.language;
      throw StopReading{};
    });
  } catch (const StopReading&) {
  }
  if (lang.empty()) {
    // Say why: a corpus of valid records all over a limit is not "unreadable".
    const std::string why = s.skip_digest();
    throw InputError(corpus + (why.empty() ? ": no record (JSONL lines with \"code\" and \"language\")"
                                           : ": every record was skipped: " + why));
  }
  return lang;
}

bool parseable(const std::string& language) {
  try {
    syntax::language_from_name(language);
    return true;
  } catch (const InputError&) {
    return false;
  }
}

std::string model_hash(const std::string& dir) {
  std::string all;
  for (const char* f : {"config.json", "tokenizer.json"}) all += sha256_file(dir + "/" + f);
  for (const auto& w : st::checkpoint_files(dir)) all += sha256_file(w);
  return sha256_hex(all);
}

Plan make_plan(const ExtractOptions& opt, const models::Transformer& model, const std::string& language,
               const tok::Tokenizer& tokenizer, const std::string& tokenizer_path) {
  Plan p;
  const auto& arch = model.arch();
  p.n_layers = int(arch.n_layers);
  p.n_heads = int(arch.n_heads);
  p.d_model = arch.d_model;
  p.layers = parse_layers(opt.layers, p.n_layers, "layers");
  p.hooks = parse_hooks(opt.hooks);
  p.token_layers = parse_layers(opt.token_layers, p.n_layers, "token-layers");
  p.attention_layers = parse_layers(opt.attention_layers, p.n_layers, "attention-layers");
  if (opt.attention_layers == "all") p.attention_layers.erase(p.attention_layers.begin());  // 1..n
  for (int l : p.attention_layers)
    if (l < 1) throw InputError("--attention-layers: layer 0 has no attention (attention layer L = block L-1)");
  p.heads = parse_heads(opt.heads, p.n_heads);
  if (p.layers.empty() && p.token_layers.empty() && p.attention_layers.empty())
    throw InputError("--layers: nothing to extract (give layers, token layers or attention layers)");
  p.store_dtype = store::parse_dtype(opt.store_dtype);
  if (!store::is_float(p.store_dtype)) throw InputError("--store-dtype: must be float32, float16 or bfloat16");
  p.pool = align::pool_from_name(opt.pool);
  {
    const std::string json = align::read_tokenizer_json(tokenizer_path);
    p.prepare.align_mode = align::resolve_mode(opt.align, align::tokenizer_traits(json, tokenizer_path));
    if (p.prepare.align_mode == align::Mode::Boundary)
      p.prepare.continuation = std::make_shared<const tok::Tokenizer>(align::continuation_tokenizer(json, tokenizer_path));
  }
  p.final_norm = arch.family != models::Family::BERT;
  if (arch.rope_scaling != models::RopeScaling::None) p.rope_scaling = models::describe_rope_scaling(arch);
  const bool last_stored = std::find(p.layers.begin(), p.layers.end(), p.n_layers) != p.layers.end() &&
                           std::find(p.hooks.begin(), p.hooks.end(), Hook::resid_post) != p.hooks.end();
  p.raw_last_block = p.final_norm && opt.raw_last_block && last_stored && p.n_layers > 0;
  p.prepare.max_tokens = arch.max_positions;
  if (opt.context_prefix < 0) throw InputError("--context-prefix: " + std::to_string(opt.context_prefix) + " is negative");
  if (opt.context_prefix > 0) {
    // Patterns are [heads, n, n] over the function's own tokens; with a prefix, rows would not sum to 1.
    if (!p.attention_layers.empty())
      throw InputError("--context-prefix: --attention-layers is not stored with a prefix (the function's rows attend "
                       "to the prefix too)");
    p.prepare.prefix_tokens = opt.context_prefix;
    p.prepare.prefix_counts = arch.positional == models::PositionalKind::Learned;
    p.prefix_separator = separator_token(tokenizer, arch, tokenizer_path);
  }
  p.language = language;
  if (opt.syntax == "on" || opt.syntax == "auto") {
    p.prepare.syntax = language == "any" || parseable(language);
    if (opt.syntax == "on" && !p.prepare.syntax)
      throw InputError("--syntax on: language '" + language + "' has no parser (python, javascript, go, java, cpp)");
  } else if (opt.syntax == "off") {
    p.prepare.syntax = false;
  } else {
    throw InputError("--syntax: '" + opt.syntax + "' is not auto, on or off");
  }
  p.group_tokens = opt.group_tokens > 0 ? opt.group_tokens : opt.engine.token_budget;
  return p;
}

int64_t padded_slots(const std::vector<std::vector<int32_t>>& seqs, int64_t budget) {
  std::vector<int64_t> lengths;
  for (const auto& s : seqs) lengths.push_back(int64_t(s.size()));
  int64_t slots = 0;
  for (const auto& b : models::plan_batches(lengths, models::Packing::Padded, budget)) slots += b.slots();
  return slots;
}

// Collects the first failure of any stage and closes both queues so every stage unblocks and stops.
struct Failure {
  std::mutex mu;
  std::exception_ptr error;
  std::atomic<bool> stop{false};
  void fail(std::exception_ptr e) {
    std::lock_guard<std::mutex> lk(mu);
    if (!error) error = e;
    stop = true;
  }
};

}  // namespace

ExtractSummary extract(const ExtractOptions& opt, Progress* progress,
                       const std::function<void(const std::string&)>& warn_fn) {
  const auto t_start = std::chrono::steady_clock::now();
  auto warn = [&](const std::string& m) { if (warn_fn) warn_fn(m); };
  if (opt.out.empty()) throw InputError("--out: no output file given");
  if (!file_exists(opt.corpus)) throw InputError(opt.corpus + ": corpus file not found");
  const bool have_engine = opt.shared_engine != nullptr;
  if (!have_engine && !file_exists(opt.model_dir + "/config.json"))
    throw InputError(opt.model_dir + ": no config.json (not a model directory)");
  const std::string tokenizer_path = opt.tokenizer.empty() ? opt.model_dir + "/tokenizer.json" : opt.tokenizer;
  if (!file_exists(tokenizer_path)) throw InputError(tokenizer_path + ": no tokenizer.json");
  if (opt.shard_count < 1 || opt.shard_index < 0 || opt.shard_index >= opt.shard_count)
    throw InputError("--shard: index must be in [0, N)");

  // Settings first (cheap), so bad flags fail before the model loads.
  const std::string language = opt.language == "auto" ? first_language(opt.corpus) : opt.language;
  models::ModelSource source = opt.random_weights ? models::ModelSource::random(opt.model_dir, *opt.random_weights)
                                                  : models::ModelSource::directory(opt.model_dir);
  source.tokenizer = tokenizer_path;
  if (opt.random_keep_embeddings && !opt.random_weights)
    throw InputError("--random-scope encoder: needs --random-weights SEED");
  source.keep_embeddings = opt.random_keep_embeddings;
  std::shared_ptr<const models::Engine> engine = opt.shared_engine;
  std::shared_ptr<const tok::Tokenizer> tokenizer_ptr;
  // Hashing the weights for the manifest reads them once more (0.8 s for GPT-2 small): overlap it with the load.
  std::future<std::string> weights_hash;
  if (!(have_engine && opt.model_dir.empty()))
    weights_hash = std::async(std::launch::async, [dir = opt.model_dir] { return model_hash(dir); });
  const auto t_load = std::chrono::steady_clock::now();
  if (engine) {
    tokenizer_ptr = std::make_shared<const tok::Tokenizer>(tok::Tokenizer::from_file(tokenizer_path));
  } else {
    // "auto" is a timing measurement, so a rerun may resolve it differently; continuing an existing store
    // keeps the dtype it was made with instead of refusing it for a changed setting.
    models::LoadOptions load = opt.engine;
    if (load.dtype == "auto" && !opt.overwrite) {
      for (const std::string& path : {opt.out, opt.out + ".partial"}) {
        if (!file_exists(path)) continue;
        try {
          const auto m = store::StoreReader(path).manifest();
          if (m.count("dtype") && m.at("dtype") != "auto") load.dtype = m.at("dtype");
          break;
        } catch (const InputError&) {
          // Unreadable: resolve "auto" afresh; the writer names the problem.
        }
      }
    }
    auto opened = models::open_model(source, load, opt.engine);
    engine = std::move(opened.engine);
    tokenizer_ptr = std::move(opened.tokenizer);
  }
  const tok::Tokenizer& tokenizer = *tokenizer_ptr;
  const double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
  // What actually runs: a shared engine brings its device and dtype; the run settings (budget, packing,
  // mask) are this call's own, so a GUI job's budget is not replaced by whoever made the engine.
  ExtractOptions eff = opt;
  static_cast<models::LoadOptions&>(eff.engine) = engine->options();
  eff.engine.validate();
  const Plan plan = make_plan(eff, engine->model(), language, tokenizer, tokenizer_path);
  const std::string label = opt.model_label.empty() ? models::default_label(source) : opt.model_label;
  const store::Manifest manifest =
      detail::make_manifest(eff, plan,
                            weights_hash.valid() ? weights_hash.get() : "in-memory:" + sha256_file(tokenizer_path),
                            sha256_file(opt.corpus), label);

  ExtractSummary sum;
  sum.out = opt.out;
  sum.load_seconds = load_seconds;
  sum.align = align::mode_name(plan.prepare.align_mode);
  if (plan.final_norm && plan.n_layers > 0)
    sum.layer_note = "layer " + store::layer_label(manifest, plan.n_layers) + " is the final norm of block " +
                     std::to_string(plan.n_layers - 1) + "'s output" +
                     (plan.raw_last_block ? "; the raw block output is words/" + plan.raw_last_block_hook() : "");
  if (!opt.overwrite && file_exists(opt.out)) {
    // A finished store with the same settings is the result already; a different one is refused by the writer.
    bool complete = false;
    int64_t n = 0;
    store::Manifest theirs;
    try {
      store::StoreReader r(opt.out);
      complete = r.complete(), n = r.num_samples(), theirs = r.manifest();
    } catch (const InputError&) {
      // Unreadable or damaged: the writer decides (it recovers an interrupted store or names the problem).
    }
    theirs.erase(store::key::created_at);
    store::Manifest ours = manifest;
    ours.erase(store::key::created_at);
    if (complete && theirs == ours) {
      sum.already_complete = sum.complete = true;
      sum.total_snippets = n;
      sum.file_bytes = int64_t(fs::file_size(opt.out));
      return sum;
    }
  }

  const SplitCaps split_caps = spec::named_counts(opt.limit_per_split, "--limit-per-split '" + opt.limit_per_split + "'");
  // (before the store: a bad cap writes nothing)
  const int64_t caps_limit = caps_total(split_caps, opt.splits);       // every kept split full: stop reading
  store::WriterOptions wo;
  wo.mode = opt.overwrite ? store::WriterOptions::Mode::overwrite : store::WriterOptions::Mode::resume;
  wo.gzip = opt.gzip;
  store::StoreWriter writer(opt.out, manifest, wo);
  sum.resumed_from = writer.committed_samples();
  if (sum.resumed_from > 0) warn("resuming " + opt.out + " after " + std::to_string(sum.resumed_from) + " committed snippets");
  if (progress) {
    int64_t total = count_records(opt.corpus, opt.shard_index, opt.shard_count);
    if (opt.limit > 0) total = std::min(total, opt.limit);
    if (caps_limit >= 0) total = std::min(total, caps_limit);
    progress->set_total(total);
    progress->set_extra_unit("tokens");
    progress->advance(sum.resumed_from);
  }

  std::unique_ptr<const ContextPrefix> context_prefix;
  if (plan.prepare.prefix_tokens > 0)
    context_prefix = std::make_unique<const ContextPrefix>(opt.corpus, plan.language, opt.splits, plan.prepare.prefix_tokens,
                                                           opt.context_prefix_seed, plan.prefix_separator, tokenizer);

  BoundedQueue<Group> groups(2);
  BoundedQueue<store::SnippetBatch> batches(2);
  Failure failure;
  auto fail = [&](std::exception_ptr e) {
    failure.fail(e);
    groups.close();
    batches.close();
  };
  const models::Capture capture = plan.capture();
  int64_t shown_skips = 0;
  std::mutex warn_mu;
  std::string first_skip;  // for the error when every record is skipped
  corpus::Summary reader_summary;  // skips by the corpus reader's limits (long lines, size, UTF-8)

  // Stage 1: read, filter, prepare, group.
  std::thread producer([&] {
    try {
      corpus::Reporter rep(reader_summary, [&](const corpus::Problem& p) {
        std::lock_guard<std::mutex> lk(warn_mu);
        if (first_skip.empty()) first_skip = p.message;
        warn(p.message);
      });
      corpus::ReadOptions ro;
      int64_t record = -1, kept = 0, group_tokens = 0;
      std::map<std::string, int64_t> kept_in_split;  // for --limit-per-split
      Group group;
      try {
        corpus::read_jsonl(opt.corpus, ro, rep, [&](corpus::Snippet&& s) {
          if (failure.stop) throw StopReading{};
          if (++record % opt.shard_count != opt.shard_index) return;
          if (opt.limit > 0 && kept >= opt.limit) throw StopReading{};
          if (caps_limit >= 0 && kept >= caps_limit) throw StopReading{};
          ++sum.records;
          if (plan.language != "any" && s.language != plan.language) {
            ++sum.skipped[int(Skip::other_language)];
            return;
          }
          if (!opt.splits.empty() && ("," + opt.splits + ",").find("," + s.split + ",") == std::string::npos) {
            ++sum.skipped[int(Skip::other_split)];
            return;
          }
          if (!split_caps.empty() && kept_in_split[s.split] >= split_cap(split_caps, s.split)) {
            ++sum.skipped[int(Skip::split_full)];
            return;
          }
          const std::string split = s.split;
          auto r = prepare(std::move(s), record, tokenizer, plan.prepare);
          if (r.skip != Skip::none) {
            ++sum.skipped[int(r.skip)];
            std::lock_guard<std::mutex> lk(warn_mu);
            if (first_skip.empty()) first_skip = r.message;
            if (++shown_skips <= 10) warn("skipped " + r.message + (shown_skips == 10 ? " (further skips only counted)" : ""));
            return;
          }
          ++kept_in_split[split];
          if (++kept <= sum.resumed_from) return;  // already committed by an earlier run
          if (context_prefix) r.prepared.prefix_ids = context_prefix->before(record);
          group_tokens += r.prepared.alignment.n_subwords();
          group.push_back(std::move(r.prepared));
          if (group_tokens >= plan.group_tokens) {
            if (!groups.push(std::move(group))) throw StopReading{};
            group.clear();
            group_tokens = 0;
          }
        });
      } catch (const StopReading&) {
      }
      if (!group.empty() && !failure.stop) groups.push(std::move(group));
    } catch (...) {
      fail(std::current_exception());
    }
    groups.close();
  });

  // Fault injection for the resume tests: PROBESCOPE_HOLD_EXTRACT=PATH makes the run that writes PATH, when it
  // starts with nothing committed, wait after its first commit until it is interrupted (at most 10 min). A test
  // then kills it at a known partial state instead of racing a run that may finish first.
  bool hold_after_commit = false;
  if (const char* hold = std::getenv("PROBESCOPE_HOLD_EXTRACT"); hold && progress && sum.resumed_from == 0) {
    std::error_code ec1, ec2;
    hold_after_commit = fs::weakly_canonical(hold, ec1) == fs::weakly_canonical(opt.out, ec2) && !ec1 && !ec2;
  }

  // Stage 3: append + commit, one commit per group.
  std::thread writer_thread([&] {
    try {
      while (auto b = batches.pop()) {
        int64_t tokens = 0, words = 0;
        for (const auto& s : b->snippets) tokens += int64_t(s.input_ids.size()), words += int64_t(s.word_spans.size());
        writer.append(*b);
        writer.commit();
        sum.snippets += int64_t(b->snippets.size());
        sum.tokens += tokens, sum.words += words;
        if (progress) progress->advance(int64_t(b->snippets.size()), tokens);
        if (hold_after_commit) {
          hold_after_commit = false;
          warn("holding " + opt.out + " after its first commit (" + std::to_string(sum.snippets) +
               " snippets; PROBESCOPE_HOLD_EXTRACT) until interrupted");
          const auto until = std::chrono::steady_clock::now() + std::chrono::minutes(10);
          while (!progress->cancelled() && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
    } catch (...) {
      fail(std::current_exception());
    }
  });

  // Stage 2 (this thread): forwards and pooling.
  bool cancelled = false;
  try {
    while (auto g = groups.pop()) {
      if (progress && progress->cancelled()) {
        cancelled = true;
        break;
      }
      std::vector<std::vector<int32_t>> seqs;
      seqs.reserve(g->size());
      for (const auto& p : *g) {
        seqs.emplace_back(p.prefix_ids);
        seqs.back().insert(seqs.back().end(), p.alignment.encoding.ids.begin(), p.alignment.encoding.ids.end());
      }
      models::RunStats rs;
      auto states = engine->run(seqs, capture, eff.engine, &rs);
      // --context-prefix: keep the function's rows only (attention patterns are refused with a prefix).
      for (size_t k = 0; k < g->size(); ++k) {
        const int64_t from = int64_t((*g)[k].prefix_ids.size());
        if (from == 0) continue;
        sum.prefix_tokens += from;
        for (auto& [name, t] : states[k].hooks) t = t.slice(0, from, t.size(0)).contiguous();
      }
      sum.slots += rs.slots, sum.forwards += rs.forwards, sum.forward_seconds += rs.seconds;
      sum.padded_slots += padded_slots(seqs, eff.engine.token_budget);
      auto batch = detail::make_batch(plan, *g, states);
      states.clear();
      if (!batches.push(std::move(batch))) break;
      for (const auto& p : *g) sum.shared_pairs += p.alignment.n_shared_pairs, sum.fallback_words += p.alignment.n_fallback;
    }
  } catch (...) {
    fail(std::current_exception());
  }
  if (cancelled) {
    failure.stop = true;
    groups.close();
  }
  batches.close();
  writer_thread.join();
  producer.join();
  if (failure.error) std::rethrow_exception(failure.error);

  sum.total_snippets = writer.committed_samples();
  if (!cancelled && sum.total_snippets == 0 && (sum.records > 0 || reader_summary.skipped_total() > 0)) {
    // Never finish an empty store that looks like a result: say which limits skipped every record.
    std::string counts = sum.skip_counts();
    for (const auto& [reason, n] : reader_summary.skipped)
      if (n) counts += (counts.empty() ? "" : ", ") + std::string(corpus::reason_name(reason)) + " " + std::to_string(n);
    throw InputError(opt.corpus + ": every record was skipped (" + counts + "); first: " + first_skip);
  }
  if (!cancelled) {
    writer.finish();
    sum.complete = true;
  }
  if (progress) progress->finish();
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  std::error_code ec;
  sum.file_bytes = int64_t(fs::file_size(opt.out, ec));
  return sum;
}

}  // namespace ps::extract
