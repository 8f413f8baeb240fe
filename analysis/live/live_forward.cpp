// The scratchpad's model side: opening a model for live use and its one forward. The only live TU with
// LibTorch headers.
#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>

#include "analysis/live/live.h"
#include "data/align/boundary.h"
#include "models/open/open_model.h"
#include "models/tokenizer/tokenizer.h"
#include "models/transformer/engine.h"
#include "models/util/error.h"

namespace ps::live {

namespace fs = std::filesystem;

LiveModel open_live_model(const std::string& dir, const models::LoadOptions& load) {
  if (!fs::is_directory(dir)) throw InputError(dir + ": not a model directory");
  auto opened = models::open_model(models::ModelSource::directory(dir), load);  // throws with the file and field
  if (!opened.tokenizer) throw InputError(dir + "/tokenizer.json: not found (live analysis needs the tokenizer)");
  LiveModel m;
  m.dir = dir;
  m.label = opened.label;
  const auto& a = opened.engine->model().arch();
  m.model_type = a.model_type;
  m.layers = a.n_layers, m.heads = a.n_heads, m.d_model = a.d_model, m.causal = a.causal;
  m.max_positions = a.positional == models::PositionalKind::Learned ? a.max_positions : 0;
  // The alignment extraction's "auto" picks for this tokenizer, so live word vectors pool like the store's.
  const std::string json = align::read_tokenizer_json(opened.tokenizer_path);
  m.align_mode = align::resolve_mode("auto", align::tokenizer_traits(json, opened.tokenizer_path));
  if (m.align_mode == align::Mode::Boundary)
    m.continuation = std::make_shared<const tok::Tokenizer>(align::continuation_tokenizer(json, opened.tokenizer_path));
  m.engine = std::move(opened.engine);
  m.tokenizer = std::move(opened.tokenizer);
  return m;
}

namespace {
Matrix to_matrix(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kFloat).contiguous();
  Matrix m;
  m.rows = c.size(0), m.cols = c.size(1);
  m.data.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return m;
}
}  // namespace

ForwardStates forward_snippet(const LiveModel& model, const std::vector<int32_t>& ids, const ForwardRequest& req) {
  if (!model.engine) throw InputError("live forward: no model is open");
  if (ids.empty()) throw InputError("live forward: no tokens");
  const auto& tf = model.engine->model();
  const int64_t n = int64_t(ids.size()), L = tf.arch().n_layers;
  models::RunOptions run = model.engine->options();
  run.mask = req.mask.empty() ? "default" : req.mask;
  run.token_budget = std::max<int64_t>(run.token_budget, n);  // one snippet is one forward
  run.validate();
  models::Capture cap;
  if (req.hidden)
    for (int64_t l = 0; l <= L; ++l) cap.hooks.insert(tf.hidden_state_hook(int(l)));
  int64_t first = 0, rows = n;
  if (req.patterns) {
    for (int64_t b = 0; b < L; ++b) cap.hooks.insert("blocks." + std::to_string(b) + ".attn.hook_pattern");
    if (req.pattern_rows > 0) {
      first = std::clamp<int64_t>(req.pattern_first_row, 0, n - 1);
      rows = std::min(req.pattern_rows, n - first);
      cap.pattern_first_row = first, cap.pattern_rows = rows;  // the Engine computes only this band's rows
    }
  }
  auto out = model.engine->run({ids}, cap, run);
  auto& hooks = out.at(0).hooks;
  ForwardStates s;
  s.mask = run.mask;
  if (req.hidden)
    for (int64_t l = 0; l <= L; ++l) s.hidden.push_back(to_matrix(hooks.at(tf.hidden_state_hook(int(l)))));
  if (req.patterns)
    for (int64_t b = 0; b < L; ++b) {
      const at::Tensor p = hooks.at("blocks." + std::to_string(b) + ".attn.hook_pattern").to(at::kFloat).contiguous();
      if (p.dim() != 3 || p.size(1) != rows || p.size(2) != n)
        throw RuntimeError("live forward: block " + std::to_string(b) + " pattern has shape " +
                           std::to_string(p.size(0)) + "x" + std::to_string(p.size(1)) + "x" + std::to_string(p.size(2)) +
                           ", expected heads x " + std::to_string(rows) + " x " + std::to_string(n));
      Pattern pat;
      pat.layer = int(b + 1);
      pat.heads = p.size(0), pat.first_row = first, pat.rows = rows, pat.keys = n;
      pat.values.assign(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
      s.patterns.push_back(std::move(pat));
    }
  return s;
}

}  // namespace ps::live
