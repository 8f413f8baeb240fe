#include "analysis/lens/logit_lens.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <map>
#include <sstream>

#include "analysis/plot/attention.h"
#include "analysis/plot/export.h"
#include "models/tokenizer/tokenizer.h"
#include "models/util/error.h"

namespace ps::lens {

namespace {

using models::Family;

// Decoding one id at a time is the slow part of a table (rows x cols x k lookups of few distinct ids).
class TokenTexts {
 public:
  explicit TokenTexts(const tok::Tokenizer& t) : t_(t) {}
  const std::string& operator()(int32_t id) {
    auto it = cache_.find(id);
    if (it == cache_.end()) it = cache_.emplace(id, t_.decode({id}, /*skip_special_tokens=*/false)).first;
    return it->second;
  }

 private:
  const tok::Tokenizer& t_;
  std::map<int32_t, std::string> cache_;
};

// The k most probable tokens of each row of logits [n, V], appended to `out` row by row.
void append_top(const at::Tensor& logits, int64_t k, TokenTexts& text, std::vector<Prediction>& out) {
  const auto lf = logits.to(at::kCPU, at::kFloat).contiguous();
  const auto probs = at::softmax(lf, -1);
  const auto [vals, idx] = at::topk(probs, k, -1, /*largest=*/true, /*sorted=*/true);
  const auto va = vals.accessor<float, 2>();
  const auto ia = idx.accessor<int64_t, 2>();
  const auto la = lf.accessor<float, 2>();
  for (int64_t r = 0; r < lf.size(0); ++r)
    for (int64_t j = 0; j < k; ++j) {
      const auto id = int32_t(ia[r][j]);
      out.push_back({id, text(id), double(va[r][j]), double(la[r][id])});
    }
}

void check_k(int64_t k, const models::Transformer& model) {
  if (k < 1 || k > model.arch().vocab_size)
    throw InputError("--top: " + std::to_string(k) + " is outside 1.." + std::to_string(model.arch().vocab_size));
}

models::Capture every_layer(const models::Transformer& model) {
  models::Capture c;
  for (int64_t l = 0; l <= model.arch().n_layers; ++l) c.hooks.insert(model.hidden_state_hook(int(l)));
  return c;
}

std::vector<at::Tensor> hidden_of(const models::Transformer& model, const models::SequenceStates& s) {
  std::vector<at::Tensor> h;
  for (int64_t l = 0; l <= model.arch().n_layers; ++l) h.push_back(s.hooks.at(model.hidden_state_hook(int(l))));
  return h;
}

}  // namespace

at::Tensor lens_logits(const models::Transformer& model, const at::Tensor& hidden, int layer) {
  return model.head_logits(hidden, layer);
}

LensTable logit_lens_from_states(const models::Transformer& model, const tok::Tokenizer& tokenizer,
                                 const std::vector<int32_t>& ids, const std::vector<at::Tensor>& hidden, int64_t k) {
  const auto& a = model.arch();
  if (a.family == Family::BERT || !a.causal)
    throw InputError(model.source() + ": the next-token logit lens needs a decoder; for a masked-LM encoder pick a "
                     "position to mask (--position)");
  if (!model.has_lm_head()) throw InputError(model.source() + ": the checkpoint has no language-model head (lm_head.weight)");
  check_k(k, model);
  if (int64_t(hidden.size()) != a.n_layers + 1)
    throw InputError("logit lens: " + std::to_string(hidden.size()) + " hidden states given, the model has " +
                     std::to_string(a.n_layers + 1));
  TokenTexts text(tokenizer);
  LensTable t;
  t.k = k;
  const int64_t n = int64_t(ids.size());
  for (int64_t p = 0; p < n; ++p) {
    t.positions.push_back(p);
    t.input.push_back(text(ids[size_t(p)]));
    t.target.push_back(p + 1 < n ? text(ids[size_t(p + 1)]) : "");
  }
  for (int64_t l = 0; l <= a.n_layers; ++l) {
    if (hidden[size_t(l)].dim() != 2 || hidden[size_t(l)].size(0) != n)
      throw InputError("logit lens: hidden state " + std::to_string(l) + " is not [" + std::to_string(n) + ", d]");
    t.layers.push_back(int(l));
    append_top(lens_logits(model, hidden[size_t(l)], int(l)), k, text, t.top);
  }
  return t;
}

LensTable logit_lens(const models::Engine& engine, const tok::Tokenizer& tokenizer, const std::vector<int32_t>& ids,
                     int64_t k, const models::RunOptions& run) {
  const auto& model = engine.model();
  if (ids.empty()) throw InputError("logit lens: the input has no tokens");
  if (model.arch().family == Family::BERT || !model.arch().causal)
    throw InputError(model.source() + ": the next-token logit lens needs a decoder; for a masked-LM encoder pick a "
                     "position to mask (--position)");
  // keep_dtype: the head sees exactly the states the forward's own head saw, so layer n is bit-identical.
  const auto states = engine.run({ids}, every_layer(model), run, nullptr, /*keep_dtype=*/true);
  return logit_lens_from_states(model, tokenizer, ids, hidden_of(model, states.at(0)), k);
}

int32_t mask_token_id(const tok::Tokenizer& tokenizer) {
  for (const char* m : {"<mask>", "[MASK]"})
    if (const int32_t id = tokenizer.token_to_id(m); id >= 0) return id;
  throw InputError("tokenizer: no mask token (<mask> or [MASK]), so a position cannot be masked");
}

LensTable mlm_fillers(const models::Engine& engine, const tok::Tokenizer& tokenizer, const std::vector<int32_t>& ids,
                      int64_t position, int64_t k, const models::RunOptions& run) {
  const auto& model = engine.model();
  const auto& a = model.arch();
  if (a.family != Family::BERT)
    throw InputError(model.source() + ": masked-position fillers need a masked-LM encoder (BERT/RoBERTa); a " +
                     std::string(models::family_name(a.family)) + " decoder gets the next-token lens (no --position)");
  if (!model.has_lm_head())
    throw InputError(model.source() + ": the checkpoint has no masked-LM head (lm_head.* / cls.predictions.*), "
                     "so there are no fillers to show");
  check_k(k, model);
  if (position < 0 || position >= int64_t(ids.size()))
    throw InputError("--position: " + std::to_string(position) + " is outside the input's " +
                     std::to_string(ids.size()) + " tokens");
  const int32_t mask = mask_token_id(tokenizer);
  auto masked = ids;
  masked[size_t(position)] = mask;
  const auto states = engine.run({masked}, every_layer(model), run, nullptr, /*keep_dtype=*/true);
  const auto hidden = hidden_of(model, states.at(0));
  TokenTexts text(tokenizer);
  LensTable t;
  t.masked_lm = true;
  t.k = k;
  t.positions = {position};
  t.input = {text(mask)};
  t.target = {text(ids[size_t(position)])};
  for (int64_t l = 0; l <= a.n_layers; ++l) {
    t.layers.push_back(int(l));
    append_top(lens_logits(model, hidden[size_t(l)].narrow(0, position, 1), int(l)), k, text, t.top);
  }
  return t;
}

std::string lens_csv(const LensTable& t) {
  std::ostringstream o;
  o << "layer,position,input,target,rank,id,token,prob,logit\n";
  for (int64_t r = 0; r < t.rows(); ++r)
    for (int64_t c = 0; c < t.cols(); ++c)
      for (int64_t j = 0; j < t.k; ++j) {
        const auto& p = t.at(r, c, j);
        o << t.layers[size_t(r)] << ',' << t.positions[size_t(c)] << ',' << plot::csv_cell(t.input[size_t(c)]) << ','
          << plot::csv_cell(t.target[size_t(c)]) << ',' << j << ',' << p.id << ',' << plot::csv_cell(p.text) << ','
          << plot::number_text(p.prob) << ',' << plot::number_text(p.logit) << '\n';
      }
  return o.str();
}

plot::Heatmap lens_heatmap(const LensTable& t, const std::string& title) {
  plot::Heatmap h;
  h.title = title;
  h.y_label = "layer";
  h.x_label = t.masked_lm ? "masked position" : "position (input token; cells: predicted next token)";
  h.value_label = "top-1 probability";
  h.rows = t.rows();
  h.cols = t.cols();
  h.vmin = 0;
  h.vmax = 1;
  for (int l : t.layers) h.row_labels.push_back(std::to_string(l));
  for (int64_t c = 0; c < t.cols(); ++c) h.col_labels.push_back(plot::readable_token(t.input[size_t(c)]));
  for (int64_t r = 0; r < t.rows(); ++r)
    for (int64_t c = 0; c < t.cols(); ++c) {
      h.values.push_back(t.at(r, c, 0).prob);
      h.cell_labels.push_back(plot::readable_token(t.at(r, c, 0).text));
    }
  return h;
}

}  // namespace ps::lens
