#include "analysis/ppl/pseudo_perplexity.h"

#include "analysis/ppl/perplexity.h"

#include <ATen/ATen.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "data/corpus/load.h"
#include "models/open/open_model.h"
#include "models/safetensors/safetensors.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "models/util/sha256.h"

namespace ps::ppl {

namespace fs = std::filesystem;
using json = nlohmann::json;

double PseudoPplResult::pppl() const { return tokens ? std::exp(nll / double(tokens)) : NAN; }

std::vector<double> masked_token_nll(const models::Engine& engine, const std::vector<int32_t>& ids,
                                     const std::vector<uint8_t>& scored, int32_t mask_id) {
  std::vector<int64_t> positions;
  for (size_t p = 0; p < ids.size(); ++p)
    if (scored[p]) positions.push_back(int64_t(p));
  // Only the masked row of each copy needs the head: capture the last hidden state and apply the MLM head
  // to that one row (the full [len, V] logits per copy cost more than the encoder itself).
  const auto& model = engine.model();
  const int64_t top = model.arch().n_layers;
  const std::string hook = model.hidden_state_hook(int(top));
  const int64_t n = int64_t(ids.size());
  const int64_t per_chunk = std::max<int64_t>(1, engine.options().token_budget / std::max<int64_t>(1, n));
  models::Capture capture;
  capture.hooks = {hook};
  std::vector<double> out;
  out.reserve(positions.size());
  for (size_t start = 0; start < positions.size(); start += size_t(per_chunk)) {
    const size_t end = std::min(positions.size(), start + size_t(per_chunk));
    std::vector<std::vector<int32_t>> copies;
    for (size_t i = start; i < end; ++i) {
      copies.push_back(ids);
      copies.back()[size_t(positions[i])] = mask_id;
    }
    const auto states = engine.run(copies, capture);
    std::vector<at::Tensor> rows;
    for (size_t i = start; i < end; ++i) rows.push_back(states[i - start].hooks.at(hook)[positions[i]]);
    at::Tensor logits;
    {
      c10::InferenceMode guard;
      logits = model.head_logits(at::stack(rows).to(model.device(), model.dtype()), top);
    }
    const auto lp = at::log_softmax(logits.to(at::kDouble), 1);
    for (size_t i = start; i < end; ++i)
      out.push_back(-lp[int64_t(i - start)][ids[size_t(positions[i])]].item<double>());
  }
  return out;
}

namespace {

struct Function {
  std::vector<int32_t> ids;
  std::vector<uint8_t> scored;
};

// Held-out functions in a seeded Fisher-Yates order (mt19937_64: the same on every platform), each cut to
// `context` tokens with its closing special token kept, so every function ends as the model saw in training.
std::vector<Function> held_out_functions(const PseudoPplOptions& o, const tok::Tokenizer& tk) {
  corpus::LoadOptions lo;
  lo.require_snippets = false;
  std::vector<std::string> codes;
  for (auto& s : corpus::load(o.corpus, lo).snippets)
    if (s.split == o.split && (o.language.empty() || s.language == o.language)) codes.push_back(std::move(s.code));
  if (codes.empty())
    throw InputError(o.corpus + ": no functions with split '" + o.split + "'" +
                     (o.language.empty() ? "" : " and language '" + o.language + "'"));
  std::mt19937_64 rng(o.seed);
  for (size_t i = codes.size(); i > 1; --i) std::swap(codes[i - 1], codes[rng() % i]);
  std::vector<Function> out;
  for (const auto& code : codes) {
    if (o.functions > 0 && int64_t(out.size()) >= o.functions) break;
    auto enc = tk.encode(code, /*add_special_tokens=*/true);
    if (int64_t(enc.ids.size()) > o.context) {
      const bool closes = !enc.special_mask.empty() && enc.special_mask.back();
      const int32_t last = enc.ids.back();
      enc.ids.resize(size_t(o.context));
      enc.special_mask.resize(size_t(o.context));
      if (closes) enc.ids.back() = last, enc.special_mask.back() = 1;
    }
    Function f{enc.ids, {}};
    for (size_t i = 0; i < enc.ids.size(); ++i) f.scored.push_back(enc.special_mask.empty() || !enc.special_mask[i]);
    bool any = false;
    for (auto s : f.scored) any = any || s;
    if (any) out.push_back(std::move(f));
  }
  return out;
}

void save(const std::string& dir, const json& state) {
  write_file_atomic(dir + "/pppl_state.json", state.dump(1) + "\n");
  json summary = state;
  const double tokens = state.at("tokens").get<double>();
  summary["pppl"] = tokens > 0 ? std::exp(state.at("nll").get<double>() / tokens) : 0.0;
  summary["complete"] = state.at("functions_done") == state.at("params").at("functions_total");
  write_file_atomic(dir + "/summary.json", summary.dump(2) + "\n");
}

}  // namespace

PseudoPplResult evaluate_pseudo_perplexity(const PseudoPplOptions& o, Progress* progress) {
  if (o.out_dir.empty()) throw InputError("eval pppl: --out is required (it holds the resumable state)");
  if (o.model_dir.empty()) throw InputError("eval pppl: --model is required");
  if (o.corpus.empty() || !fs::is_regular_file(o.corpus)) throw InputError("--corpus " + o.corpus + ": no such file");
  models::RunOptions run = o.engine;
  run.validate();
  auto opened = models::open_model(models::ModelSource::directory(o.model_dir), o.engine, run);
  const auto& engine = *opened.engine;
  const auto& arch = engine.model().arch();
  if (arch.causal)
    throw InputError(o.model_dir + ": a causal LM (" + arch.model_type +
                     "); pseudo-perplexity is for masked-LM encoders (use eval ppl)");
  if (!engine.model().has_lm_head()) throw InputError(o.model_dir + ": the checkpoint has no masked-LM head");
  if (!opened.tokenizer) throw InputError(o.model_dir + ": no tokenizer.json");
  const auto& tk = *opened.tokenizer;
  int32_t mask_id = -1;
  for (const std::string& t : o.mask_token.empty() ? std::vector<std::string>{"<mask>", "[MASK]"}
                                                    : std::vector<std::string>{o.mask_token})
    if (mask_id < 0) mask_id = tk.token_to_id(t);
  if (mask_id < 0)
    throw InputError(opened.tokenizer_path + ": no mask token " +
                     (o.mask_token.empty() ? std::string("(<mask> or [MASK]); give --mask-token") : "'" + o.mask_token + "'"));
  if (o.context < 3) throw InputError("--context " + std::to_string(o.context) + ": needs at least 3 tokens");
  if (arch.max_positions > 0 && o.context > arch.max_positions)
    throw InputError("--context " + std::to_string(o.context) + ": beyond the model's " +
                     std::to_string(arch.max_positions) + " positions");
  const auto functions = held_out_functions(o, tk);

  json params = {{"model_dir", fs::absolute(o.model_dir).lexically_normal().string()},
                 {"model_hash", model_files_hash(o.model_dir)},
                 {"corpus_sha256", sha256_file(o.corpus)},
                 {"split", o.split},
                 {"language", o.language},
                 {"context", o.context},
                 {"seed", o.seed},
                 {"mask_id", mask_id},
                 {"mask", o.engine.mask.empty() ? "default" : o.engine.mask},
                 {"dtype", engine.options().dtype},
                 {"functions_total", int64_t(functions.size())}};
  fs::create_directories(o.out_dir);
  json state = {{"format", 1}, {"params", params}, {"functions_done", 0}, {"tokens", 0}, {"nll", 0.0}};
  const std::string state_path = o.out_dir + "/pppl_state.json";
  if (file_exists(state_path)) {
    const auto was = json::parse(read_file(state_path));
    for (const auto& [k, v] : params.items())
      if (!was.at("params").contains(k) || was.at("params").at(k) != v)
        throw InputError("--out " + o.out_dir + ": an earlier run there differs in " + k + " (was " +
                         (was.at("params").contains(k) ? was.at("params").at(k).dump() : "unset") + ", now " +
                         v.dump() + "); use another --out");
    state = was;
  }
  int64_t done = state.at("functions_done").get<int64_t>();
  save(o.out_dir, state);
  if (progress) {
    progress->set_total(int64_t(functions.size()));
    progress->advance(done);
  }
  int64_t fresh = 0;
  while (done < int64_t(functions.size())) {
    if (progress && progress->cancelled()) break;
    if (o.stop_after > 0 && fresh >= o.stop_after) break;
    const auto& f = functions[size_t(done)];
    const auto nll = masked_token_nll(engine, f.ids, f.scored, mask_id);
    double sum = 0;
    for (double v : nll) sum += v;
    state["nll"] = state["nll"].get<double>() + sum;
    state["tokens"] = state["tokens"].get<int64_t>() + int64_t(nll.size());
    state["functions_done"] = ++done;
    ++fresh;
    save(o.out_dir, state);
    if (progress) progress->advance(1, int64_t(nll.size()));
  }
  if (progress) progress->finish();
  PseudoPplResult r;
  r.functions_total = int64_t(functions.size());
  r.functions_done = done;
  r.tokens = state.at("tokens").get<int64_t>();
  r.nll = state.at("nll").get<double>();
  return r;
}

}  // namespace ps::ppl
