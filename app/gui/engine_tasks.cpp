// The only GUI translation unit that touches the Engine (LibTorch headers): loading the model once and
// handing the same Engine to extraction.
#include <filesystem>

#include "app/gui/jobs.h"
#include "app/gui/session.h"
#include "data/extract/extract.h"
#include "models/tokenizer/tokenizer.h"
#include "models/transformer/engine.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::gui {

namespace fs = std::filesystem;

void Session::open_model(const std::string& dir, int threads) {
  if (!fs::is_directory(dir)) throw InputError(dir + ": not a model directory");
  models::EngineOptions o;
  o.threads = threads;
  auto engine = models::Engine::open(dir, o);  // throws with the file and field
  auto tok = std::make_unique<tok::Tokenizer>(tok::Tokenizer::from_file((fs::path(dir) / "tokenizer.json").string()));
  const auto& a = engine->model().arch();
  ModelInfo info;
  info.dir = dir;
  info.model_type = a.model_type;
  info.layers = a.n_layers;
  info.heads = a.n_heads;
  info.d_model = a.d_model;
  info.causal = a.causal;
  // Replace only once everything loaded: a failed open leaves the previous model in place.
  engine_ = std::move(engine);
  tokenizer_ = std::move(tok);
  model_ = info;
}

std::string run_extract(const Session& session, const ExtractJob& job, TaskContext& ctx) {
  if (!session.has_model()) throw InputError("extraction needs a model: open a model directory first");
  extract::ExtractOptions o;
  o.corpus = job.corpus;
  o.out = job.out;
  o.layers = job.layers;
  o.attention_layers = job.attention_layers;
  o.limit = job.limit;
  o.engine = session.engine()->options();
  o.engine.token_budget = job.token_budget;
  o.shared_engine = session.engine();
  o.tokenizer = (fs::path(session.model().dir) / "tokenizer.json").string();
  o.model_label = fs::path(session.model().dir).filename().string();
  int64_t total = extract::count_records(job.corpus, 0, 1);
  if (job.limit > 0) total = std::min(total, job.limit);
  ctx.total = total;
  const auto sum = extract::extract(o, &ctx.progress);
  return sum.complete ? "extracted " + std::to_string(sum.total_snippets) + " snippets into " + sum.out
                      : "stopped after " + std::to_string(sum.total_snippets) + " snippets (resumable): " + sum.out;
}

}  // namespace ps::gui
