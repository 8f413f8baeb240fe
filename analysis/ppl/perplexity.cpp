#include "analysis/ppl/perplexity.h"

#include <ATen/ATen.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "data/corpus/load.h"
#include "models/config/rope_scaling.h"
#include "models/open/open_model.h"
#include "models/safetensors/safetensors.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "models/util/sha256.h"
#include "models/util/spec.h"

namespace ps::ppl {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;  // settings keep the order they were first run in

double Bucket::ppl() const { return tokens ? std::exp(mean_nll()) : NAN; }

std::vector<int64_t> bucket_edges(const std::string& by_position, int64_t context) {
  const std::string flag = "--by-position";
  if (by_position.empty()) return {0, context};
  const auto v = spec::int_list(by_position, flag, 0);
  std::vector<int64_t> edges;
  if (v.size() == 1) {
    if (v[0] < 1) throw InputError(flag + " " + by_position + ": a bucket width must be at least 1");
    for (int64_t e = 0; e < context; e += v[0]) edges.push_back(e);
    edges.push_back(context);
    return edges;
  }
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0 && v[i] <= v[i - 1]) throw InputError(flag + " " + by_position + ": edges must increase");
    if (v[i] > context)
      throw InputError(flag + " " + by_position + ": edge " + std::to_string(v[i]) + " is beyond --context " +
                       std::to_string(context));
  }
  return v;
}

std::vector<double> next_token_nll(const at::Tensor& logits, const std::vector<int32_t>& ids) {
  const int64_t n = static_cast<int64_t>(ids.size());
  if (logits.dim() != 2 || logits.size(0) != n) throw RuntimeError("next_token_nll: logits do not match the sequence");
  if (n < 2) return {};
  std::vector<int64_t> next(ids.begin() + 1, ids.end());
  const auto targets = at::tensor(next, at::kLong).unsqueeze(1);
  const auto lp = at::log_softmax(logits.slice(0, 0, n - 1).to(at::kDouble), 1).gather(1, targets).squeeze(1);
  const auto c = lp.contiguous();
  const double* p = c.data_ptr<double>();
  std::vector<double> out(size_t(n - 1));
  for (int64_t i = 0; i < n - 1; ++i) out[size_t(i)] = -p[i];
  return out;
}

std::string model_files_hash(const std::string& dir) {
  std::string all = sha256_file(dir + "/config.json");
  for (const auto& w : st::checkpoint_files(dir)) all += sha256_file(w);
  return sha256_hex(all);
}

// Fisher-Yates over mt19937_64, whose output the standard fixes: the same order on every platform.
std::vector<std::vector<int32_t>> held_out_documents(const PplOptions& o, const tok::Tokenizer& tk, int32_t sep,
                                                     int64_t context) {
  if (!fs::is_regular_file(o.corpus)) throw InputError("--corpus " + o.corpus + ": no such file");
  corpus::LoadOptions lo;
  lo.require_snippets = false;
  std::vector<std::string> codes;
  for (auto& s : corpus::load(o.corpus, lo).snippets)
    if (s.split == o.split) codes.push_back(std::move(s.code));
  if (codes.empty()) throw InputError(o.corpus + ": no functions with split '" + o.split + "' (held-out documents need them)");
  std::mt19937_64 rng(o.seed);
  for (size_t i = codes.size(); i > 1; --i) std::swap(codes[i - 1], codes[rng() % i]);
  std::vector<int32_t> stream;
  for (size_t i = 0; i < codes.size(); ++i) {
    // With a document cap only the stream's first documents*context tokens matter: stop tokenising there
    // (FlexRound's calibration draws 32 documents from a train split of thousands of functions).
    if (o.documents > 0 && int64_t(stream.size()) >= o.documents * context) break;
    if (i > 0) stream.push_back(sep);
    const auto enc = tk.encode(codes[i], /*add_special_tokens=*/false);
    stream.insert(stream.end(), enc.ids.begin(), enc.ids.end());
  }
  const int64_t n = int64_t(stream.size()) / context;
  if (n == 0)
    throw InputError(o.corpus + ": split '" + o.split + "' gives " + std::to_string(stream.size()) +
                     " tokens, fewer than one document of --context " + std::to_string(context));
  const int64_t keep = o.documents > 0 ? std::min(n, o.documents) : n;
  std::vector<std::vector<int32_t>> docs;
  for (int64_t d = 0; d < keep; ++d)
    docs.emplace_back(stream.begin() + d * context, stream.begin() + (d + 1) * context);
  return docs;
}

namespace {

int32_t separator_id(const PplOptions& o, const tok::Tokenizer& tk, const models::ArchSpec& arch, const std::string& tk_path) {
  if (!o.separator.empty()) {
    const int32_t id = tk.token_to_id(o.separator);
    if (id < 0) throw InputError("--separator '" + o.separator + "': not a token of " + tk_path);
    return id;
  }
  const int32_t id = models::document_separator(tk, arch);
  if (id < 0) throw InputError(tk_path + ": no eos token to separate functions (give --separator TOKEN)");
  return id;
}

std::string ids_hash(const std::vector<std::vector<int32_t>>& docs) {
  Sha256 h;
  for (const auto& d : docs) h.update(d.data(), d.size() * sizeof(int32_t));
  return h.hex_digest();
}

// The first key whose value differs, for a one-line refusal.
std::string first_difference(const ojson& was, const ojson& now) {
  for (const auto& [k, v] : now.items())
    if (!was.contains(k) || was.at(k) != v)
      return k + " was " + (was.contains(k) ? was.at(k).dump() : std::string("unset")) + ", now " + v.dump();
  return "";
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

PplResult result_of(const std::string& name, const ojson& s, int64_t total) {
  PplResult r;
  r.setting = name;
  r.documents_total = total;
  r.documents_done = s.at("documents_done").get<int64_t>();
  r.overall = {1, s.at("overall").at("end").get<int64_t>(), s.at("overall").at("tokens").get<int64_t>(),
               s.at("overall").at("nll").get<double>()};
  for (const auto& b : s.at("buckets"))
    r.buckets.push_back({b.at(0).get<int64_t>(), b.at(1).get<int64_t>(), b.at(2).get<int64_t>(), b.at(3).get<double>()});
  return r;
}

// ppl_state.json first (the truth), then the two views of it.
void save(const std::string& dir, const ojson& state) {
  write_file_atomic(dir + "/ppl_state.json", state.dump(1) + "\n");
  const int64_t total = state.at("documents").at("documents").get<int64_t>();
  std::string csv = "setting,bucket_start,bucket_end,tokens,nll,ppl\n";
  ojson summary = {{"documents", state.at("documents")}, {"settings", ojson::object()}};
  for (const auto& [name, s] : state.at("settings").items()) {
    const auto r = result_of(name, s, total);
    for (const auto& b : r.buckets)
      if (b.tokens > 0)
        csv += csv_field(name) + "," + std::to_string(b.start) + "," + std::to_string(b.end) + "," +
               std::to_string(b.tokens) + "," + num(b.mean_nll()) + "," + num(b.ppl()) + "\n";
    summary["settings"][name] = {{"params", s.at("params")},
                                 {"documents_done", r.documents_done},
                                 {"complete", r.complete()},
                                 {"tokens", r.overall.tokens},
                                 {"nll", r.overall.mean_nll()},
                                 {"ppl", r.overall.tokens ? r.overall.ppl() : 0.0}};
  }
  write_file_atomic(dir + "/ppl.csv", csv);
  write_file_atomic(dir + "/summary.json", summary.dump(2) + "\n");
}

}  // namespace

PplResult evaluate_perplexity(const PplOptions& o, Progress* progress) {
  if (o.out_dir.empty()) throw InputError("eval ppl: --out is required (it holds the resumable state)");
  if (o.model_dir.empty()) throw InputError("eval ppl: --model is required");
  if (o.corpus.empty() || !fs::is_regular_file(o.corpus)) throw InputError("--corpus " + o.corpus + ": no such file");
  models::RunOptions run = o.engine;
  run.validate();
  auto opened = models::open_model(models::ModelSource::directory(o.model_dir), o.engine, run);
  const auto engine = opened.engine;
  const auto& arch = engine->model().arch();
  if (!arch.causal)
    throw InputError(o.model_dir + ": a masked-LM encoder (" + arch.model_type +
                     "); perplexity by position needs a causal LM (GPT-2 or LLaMA family)");
  if (!engine->model().has_lm_head()) throw InputError(o.model_dir + ": the checkpoint has no language-model head");
  if (!opened.tokenizer) throw InputError(o.model_dir + ": no tokenizer.json to make documents with");
  const int64_t context = o.context > 0 ? o.context : arch.max_positions;
  if (context < 2) throw InputError("--context " + std::to_string(context) + ": needs at least 2 tokens (one target)");
  const auto edges = bucket_edges(o.by_position, context);

  const int32_t sep = separator_id(o, *opened.tokenizer, arch, opened.tokenizer_path);
  const auto docs = held_out_documents(o, *opened.tokenizer, sep, context);
  const int64_t total = int64_t(docs.size());
  ojson documents = {{"corpus", fs::absolute(o.corpus).lexically_normal().string()},
                     {"corpus_sha256", sha256_file(o.corpus)},
                     {"split", o.split},
                     {"context", context},
                     {"separator_id", sep},
                     {"seed", o.seed},
                     {"documents", total},
                     {"bucket_edges", edges},
                     {"token_ids_sha256", ids_hash(docs)}};
  std::string mask = o.engine.mask.empty() ? "default" : o.engine.mask;
  ojson params = {{"model_dir", fs::absolute(o.model_dir).lexically_normal().string()},
                  {"model_hash", model_files_hash(o.model_dir)},
                  {"mask", mask},
                  {"rope_scaling", o.engine.rope_scaling},
                  {"rope_resolved", arch.positional == models::PositionalKind::Rotary ? models::describe_rope_scaling(arch) : "none"},
                  {"dtype", engine->options().dtype}};
  std::string name = o.setting;
  if (name.empty()) {
    name = opened.label;
    if (mask != "default") name += " " + mask;
    if (!o.engine.rope_scaling.empty()) name += " rope=" + o.engine.rope_scaling;
  }

  fs::create_directories(o.out_dir);
  ojson state = {{"format", 1}, {"documents", documents}, {"settings", ojson::object()}};
  const std::string state_path = o.out_dir + "/ppl_state.json";
  if (file_exists(state_path)) {
    state = ojson::parse(read_file(state_path));
    const std::string diff = first_difference(state.at("documents"), documents);
    if (!diff.empty())
      throw InputError("--out " + o.out_dir + ": its documents differ (" + diff + "); use another --out");
  }
  auto& settings = state["settings"];
  if (settings.contains(name)) {
    const std::string diff = first_difference(settings[name].at("params"), params);
    if (!diff.empty())
      throw InputError("--out " + o.out_dir + ": setting '" + name + "' was run differently (" + diff +
                       "); give another --setting or --out");
  } else {
    // Fixed per setting, so a resumed run batches the documents exactly as the first did (bit-identical sums).
    const int64_t per_batch = std::max<int64_t>(1, o.engine.token_budget / context);
    ojson buckets = ojson::array();
    for (size_t i = 0; i + 1 < edges.size(); ++i) buckets.push_back({edges[i], edges[i + 1], 0, 0.0});
    settings[name] = {{"params", params},
                      {"docs_per_batch", per_batch},
                      {"documents_done", 0},
                      {"overall", {{"end", context}, {"tokens", 0}, {"nll", 0.0}}},
                      {"buckets", buckets}};
  }
  auto& s = settings[name];
  const int64_t per_batch = s.at("docs_per_batch").get<int64_t>();
  int64_t done = s.at("documents_done").get<int64_t>();
  save(o.out_dir, state);

  if (progress) {
    progress->set_total(total);
    progress->advance(done);
  }
  models::Capture capture;
  capture.logits = true;
  int64_t new_docs = 0;
  while (done < total) {
    if (progress && progress->cancelled()) break;
    if (o.stop_after > 0 && new_docs >= o.stop_after) break;
    const int64_t end = std::min(total, done + per_batch);
    const std::vector<std::vector<int32_t>> batch(docs.begin() + done, docs.begin() + end);
    const auto states = engine->run(batch, capture);
    int64_t tokens = 0;
    double overall = s["overall"]["nll"].get<double>();
    for (size_t d = 0; d < batch.size(); ++d) {
      const auto nll = next_token_nll(states[d].hooks.at("logits"), batch[d]);
      auto& buckets = s["buckets"];
      size_t b = 0;
      std::vector<double> sums(buckets.size(), 0.0);
      std::vector<int64_t> counts(buckets.size(), 0);
      for (size_t i = 0; i < nll.size(); ++i) {
        const int64_t p = int64_t(i) + 1;  // the target's position
        overall += nll[i];
        while (b < buckets.size() && p >= buckets[b][1].get<int64_t>()) ++b;
        if (b < buckets.size() && p >= buckets[b][0].get<int64_t>()) sums[b] += nll[i], ++counts[b];
      }
      for (size_t k = 0; k < buckets.size(); ++k) {
        buckets[k][2] = buckets[k][2].get<int64_t>() + counts[k];
        buckets[k][3] = buckets[k][3].get<double>() + sums[k];
      }
      tokens += int64_t(nll.size());
    }
    s["overall"]["nll"] = overall;
    s["overall"]["tokens"] = s["overall"]["tokens"].get<int64_t>() + tokens;
    done = end;
    new_docs += int64_t(batch.size());
    s["documents_done"] = done;
    save(o.out_dir, state);
    if (progress) progress->advance(int64_t(batch.size()), tokens);
  }
  if (progress) progress->finish();
  return result_of(name, s, total);
}

}  // namespace ps::ppl
