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

void Session::open_model(const std::string& dir, int threads) { adopt_model(load_model(dir, threads)); }

live::LiveModel Session::load_model(const std::string& dir, int threads) {
  models::LoadOptions o;
  o.threads = threads;
  return live::open_live_model(dir, o);  // throws with the file and field; needs tokenizer.json
}

void Session::adopt_model(live::LiveModel m) {
  ModelInfo info;
  info.dir = m.dir;
  info.model_type = m.model_type;
  info.layers = m.layers;
  info.heads = m.heads;
  info.d_model = m.d_model;
  info.causal = m.causal;
  // Replace only once everything loaded: a failed open leaves the previous model in place.
  engine_ = m.engine;
  tokenizer_ = m.tokenizer;
  model_ = info;
  live_ = std::make_shared<const live::LiveModel>(std::move(m));
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
