#include "analysis/lens/lens_live.h"

#include <ATen/ATen.h>

#include "models/transformer/engine.h"
#include "models/util/error.h"

namespace ps::lens {

LensTable live_logit_lens(const live::LiveModel& model, const live::TokenView& tokens, const live::ForwardStates& states,
                          int64_t k) {
  if (!model.engine || !model.tokenizer) throw InputError("logit lens: no model is open");
  std::vector<at::Tensor> hidden;
  for (const auto& m : states.hidden) {
    if (m.rows != int64_t(tokens.ids.size())) throw InputError("logit lens: the states are not of these tokens");
    // A view of the matrix: head_logits only reads it (and converts it to the model's dtype and device).
    hidden.push_back(at::from_blob(const_cast<float*>(m.data.data()), {m.rows, m.cols}, at::kFloat));
  }
  return logit_lens_from_states(model.engine->model(), *model.tokenizer, tokens.ids, hidden, k);
}

LensTable live_mlm_fillers(const live::LiveModel& model, const live::TokenView& tokens, int64_t position, int64_t k,
                           const std::string& mask) {
  if (!model.engine || !model.tokenizer) throw InputError("masked fillers: no model is open");
  models::RunOptions run = model.engine->options();
  run.mask = mask.empty() ? "default" : mask;
  run.token_budget = std::max<int64_t>(run.token_budget, int64_t(tokens.ids.size()));
  return mlm_fillers(*model.engine, *model.tokenizer, tokens.ids, position, k, run);
}

}  // namespace ps::lens
