// The only GUI translation unit that touches the Engine (LibTorch headers): loading the model once and
// handing the same Engine to extraction.
#include <filesystem>

#include "app/gui/jobs.h"
#include "app/gui/session.h"
#include "data/extract/extract.h"
#include "models/tokenizer/tokenizer.h"
#include "models/transformer/engine.h"
#include "models/open/open_model.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::gui {

namespace fs = std::filesystem;

void Session::open_model(const std::string& dir, int threads) {
  if (!fs::is_directory(dir)) throw InputError(dir + ": not a model directory");
  models::LoadOptions o;
  o.threads = threads;
  auto opened = models::open_model(models::ModelSource::directory(dir), o);  // throws with the file and field
  if (!opened.tokenizer) throw InputError(dir + "/tokenizer.json: not found (the explorer needs the tokenizer)");
  const auto& a = opened.engine->model().arch();
  ModelInfo info;
  info.dir = dir;
  info.model_type = a.model_type;
  info.layers = a.n_layers;
  info.heads = a.n_heads;
  info.d_model = a.d_model;
  info.causal = a.causal;
  // Replace only once everything loaded: a failed open leaves the previous model in place.
  engine_ = std::move(opened.engine);
  tokenizer_ = std::move(opened.tokenizer);
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
  o.engine.token_budget = job.token_budget;  // the job's own; device and dtype come from the shared Engine
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
