// The scratchpad's analysis stages for one typed snippet (live.h), and analyze() chaining them.
#include "analysis/live/live.h"

#include <algorithm>
#include <chrono>

#include "analysis/plot/attention.h"
#include "data/syntax/labelled_tree.h"
#include "data/syntax/structural.h"
#include "models/tokenizer/tokenizer.h"
#include "models/util/error.h"
#include "probes/ast_probe.h"

namespace ps::live {

ParseView parse_snippet(const std::string& code, syntax::Language language) {
  ParseView v;
  syntax::ParseOptions po;
  po.source_name = "snippet";
  auto parsed = syntax::try_parse(code, language, po);  // comments blanked, strings collapsed: as extraction
  v.ok = parsed.ok();
  v.message = parsed.message;
  v.code = parsed.code.empty() ? code : parsed.code;
  v.tree = std::move(parsed.tree);
  for (const auto& n : v.tree.nodes) {
    const bool error = n.type == "ERROR";
    const bool missing = !error && n.children.empty() && n.has_error;  // MISSING leaves are zero-width
    if (!error && !missing) continue;
    ParseIssue is;
    is.missing = missing, is.type = n.type, is.begin = n.start_byte, is.end = n.end_byte;
    const auto end = code.begin() + std::min<size_t>(n.start_byte, code.size());
    is.line = 1 + int(std::count(code.begin(), end, '\n'));
    const auto bol = std::find(std::make_reverse_iterator(end), code.rend(), '\n');
    is.column = 1 + int(std::distance(bol.base(), end));
    v.issues.push_back(std::move(is));
  }
  return v;
}

TokenView tokenize_snippet(const LiveModel& model, const ParseView& parse) {
  if (!model.tokenizer) throw InputError("live tokens: no model is open");
  TokenView t;
  for (const auto& w : syntax::code_tokens(parse.tree, parse.code)) {
    t.word_spans.emplace_back(w.start_byte, w.end_byte);
    t.words.push_back(parse.code.substr(w.start_byte, w.end_byte - w.start_byte));
  }
  t.alignment = align::align(*model.tokenizer, parse.code, t.word_spans, model.align_mode, true, model.continuation.get());
  const auto& e = t.alignment.encoding;
  const size_t n = e.ids.size();
  t.ids = e.ids;
  t.spans.assign(e.offsets.begin(), e.offsets.end());
  t.special.assign(n, 0);
  for (size_t i = 0; i < n && i < e.special_mask.size(); ++i) t.special[i] = e.special_mask[i];
  t.word_of.assign(n, -1);
  t.word_start.assign(n, 0);
  for (int64_t w = 0; w < t.alignment.n_words(); ++w)
    for (int64_t j = t.alignment.word_offsets[size_t(w)]; j < t.alignment.word_offsets[size_t(w) + 1]; ++j) {
      const auto s = size_t(t.alignment.word_subwords[size_t(j)]);
      if (t.word_of[s] < 0) t.word_of[s] = int(w);
      if (j == t.alignment.word_offsets[size_t(w)]) t.word_start[s] = 1;
    }
  for (size_t i = 0; i < n; ++i) {
    const auto [b, z] = t.spans[i];
    const bool has_text = !t.special[i] && b >= 0 && z > b && size_t(z) <= t.alignment.text.size();
    t.texts.push_back(has_text ? plot::readable_token(t.alignment.text.substr(size_t(b), size_t(z - b)))
                               : model.tokenizer->id_to_token(e.ids[i]));
  }
  return t;
}

GoldSyntax gold_syntax(const ParseView& parse) {
  GoldSyntax g;
  g.dcu = syntax::ast_to_dcu(parse.tree);
  syntax::LabelVocab cv, uv;
  const auto ids = syntax::encode(g.dcu, cv, uv, true);
  probes::DecodeVocab vocab;
  vocab.c.labels = cv.labels(), vocab.u.labels = uv.labels();
  vocab.c.empty_id = vocab.u.empty_id = syntax::LabelVocab::kEmptyId;
  vocab.sep = syntax::kSep;
  g.tree = probes::decode_tree(std::vector<double>(ids.d.begin(), ids.d.end()), ids.c, ids.u, vocab);
  g.word_distance = syntax::distance_matrix(syntax::structural_targets(syntax::to_labelled(parse.tree)));
  return g;
}

Matrix word_vectors(const ForwardStates& states, const TokenView& tokens, int layer, align::Pool pool) {
  if (layer < 0 || size_t(layer) >= states.hidden.size())
    throw InputError("live probe: layer " + std::to_string(layer) + " is not in the forward's 0.." +
                     std::to_string(int64_t(states.hidden.size()) - 1));
  const Matrix& h = states.hidden[size_t(layer)];
  Matrix m;
  m.rows = tokens.alignment.n_words(), m.cols = h.cols;
  m.data.assign(size_t(m.rows * m.cols), 0.f);
  align::pool(tokens.alignment, h.data.data(), h.rows, h.cols, pool, m.data.data());
  return m;
}

ProbeView apply_probe(const probes::SavedAstProbe& probe, const Matrix& vectors, const GoldSyntax& gold) {
  if (vectors.cols != probe.model.dim)
    throw InputError("live probe: layer width " + std::to_string(vectors.cols) + " differs from the probe's " +
                     std::to_string(probe.model.dim) + " (a probe of another model?)");
  const int n = int(vectors.rows);
  if (n < 2) throw InputError("live probe: needs at least two code tokens");
  probes::ProbeDataset ds;
  ds.dim = int(vectors.cols), ds.n_c_labels = 1, ds.n_u_labels = 1;
  probes::ProbeSample s;
  s.n_words = n;
  s.vectors = vectors.data;
  probe.norm.apply(s.vectors, ds.dim);  // the map the probe was fitted with
  s.d.assign(size_t(n - 1), 0), s.c.assign(size_t(n - 1), 0), s.u.assign(size_t(n), 0);  // unused by prediction
  ds.samples.push_back(std::move(s));
  const auto pred = probes::predict_ast_probe(probe.model, ds, probe.vocab).at(0);
  ProbeView v;
  v.layer = probe.layer;
  v.d_hat = pred.d;
  for (int32_t c : pred.c) v.c.push_back(probe.vocab.c.labels.at(size_t(c)));
  for (int32_t u : pred.u) v.u.push_back(probe.vocab.u.labels.at(size_t(u)));
  v.tree = probes::decode_tree(pred, probe.vocab);
  // Labelled constituents compared as strings, so the probe's own label numbering does not matter.
  v.counts = probes::match_constituents(probes::constituents(v.tree), probes::constituents(gold.tree));
  v.prf = probes::prf(v.counts);
  return v;
}

LiveResult analyze(const LiveModel& model, const LiveRequest& req) {
  const auto t0 = std::chrono::steady_clock::now();
  LiveResult r;
  const auto cancelled = [&] {
    if (!req.cancel || !req.cancel->load()) return false;
    r.status = LiveStatus::cancelled, r.message = "cancelled";
    return true;
  };
  r.parse = parse_snippet(req.code, req.language);
  if (!r.parse.ok) {
    r.status = LiveStatus::parse_error;
    r.message = r.parse.message;
    return r;
  }
  if (cancelled()) return r;
  r.tokens = tokenize_snippet(model, r.parse);
  if (r.tokens.words.empty()) {
    r.status = LiveStatus::no_words, r.message = "snippet: no code tokens";
    return r;
  }
  if (model.max_positions > 0 && int64_t(r.tokens.ids.size()) > model.max_positions) {
    r.status = LiveStatus::too_long;
    r.message = "snippet: " + std::to_string(r.tokens.ids.size()) + " tokens exceed the model's " +
                std::to_string(model.max_positions) + " positions";
    return r;
  }
  r.gold = gold_syntax(r.parse);
  if (cancelled()) return r;
  const auto f0 = std::chrono::steady_clock::now();
  r.states = forward_snippet(model, r.tokens.ids, req.forward);
  r.seconds_forward = std::chrono::duration<double>(std::chrono::steady_clock::now() - f0).count();
  if (cancelled()) return r;
  if (req.probe && req.forward.hidden) {
    r.probe = apply_probe(*req.probe, word_vectors(r.states, r.tokens, req.probe->layer, req.pool), r.gold);
    r.probe->k = req.probe_k > 0 ? req.probe_k : req.probe->model.rank;
    r.probe->path = req.probe_path;
  }
  if (cancelled()) return r;
  r.ast_fraction = ast_fractions(r.states, r.tokens, r.gold, req.max_tree_distance);
  r.seconds_total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace ps::live
