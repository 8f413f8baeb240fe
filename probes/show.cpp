// Predict-and-decode for one snippet, shared by `probescope probe show` and the GUI.
#include "probes/show.h"

#include <limits>


#include "models/util/error.h"
#include "models/util/spec.h"

namespace ps::probes {

namespace {
int32_t find_label(const std::vector<std::string>& v, const std::string& s) {
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] == s) return static_cast<int32_t>(i);
  return -1;
}

std::vector<std::string> names(const std::vector<int32_t>& ids, const std::vector<std::string>& vocab) {
  std::vector<std::string> out;
  for (int32_t i : ids) out.push_back(i >= 0 && i < static_cast<int32_t>(vocab.size()) ? vocab[i] : "?");
  return out;
}

void indent(const DecodedTree& t, int id, int depth, const std::vector<std::string>& tokens, std::string& out) {
  const TreeNode& n = t.nodes[id];
  out.append(2 * static_cast<size_t>(depth), ' ');
  if (n.leaf) {
    out += std::to_string(n.begin) + " " + (n.begin < static_cast<int>(tokens.size()) ? tokens[n.begin] : "") + "\n";
    return;
  }
  out += n.label + "\n";
  for (int k : n.children) indent(t, k, depth + 1, tokens, out);
}
}  // namespace

int64_t find_snippet(const store::StoreReader& r, const std::string& key) {
  const int64_t n = r.num_samples();
  const std::vector<std::string> ids = r.ids(0, n);
  for (int64_t i = 0; i < n; ++i)
    if (ids[i] == key) return i;
  int64_t i = 0;
  if (spec::try_int(key, i) && i >= 0 && i < n) return i;
  throw InputError(where(r.path(), "no snippet '" + key + "' (give an index 0.." + std::to_string(n - 1) + " or an id)"));
}

SnippetView predict_snippet(const store::StoreReader& r, const SavedAstProbe& probe, int64_t index,
                            const std::vector<std::string>* tokens) {
  if (index < 0 || index >= r.num_samples())
    throw InputError(where(r.path(), "snippet " + std::to_string(index) + " out of range"));
  if (!r.has_syntax()) throw InputError(where(r.path(), "no syntax labels (/syntax)"));
  const std::string act = store::act_name(store::Rows::words, probe.layer);
  if (!r.has_act(act)) throw InputError(where(r.path(), "the probe's layer " + std::to_string(probe.layer) + " is not stored"));
  const store::Matrix m = r.acts(act, index);
  if (m.cols != probe.model.dim)
    throw InputError(where(r.path(), "layer width " + std::to_string(m.cols) + " differs from the probe's " +
                                         std::to_string(probe.model.dim)));
  if (m.rows == 0) throw InputError(where(r.path(), "snippet " + std::to_string(index) + " has no words"));
  const store::SyntaxData gold = r.syntax(index);
  SnippetView v;
  v.index = index;
  v.id = r.id(index);
  v.layer = probe.layer;
  const int n = static_cast<int>(m.rows);
  if (tokens && tokens->size() != static_cast<size_t>(n))
    throw InputError("probe show: " + std::to_string(tokens->size()) + " token texts for " + std::to_string(n) + " words");
  if (tokens)
    v.tokens = *tokens;
  else
    for (int i = 0; i < n; ++i) v.tokens.push_back("w" + std::to_string(i));

  ProbeDataset ds;  // ids are the store's; only the vectors matter for prediction
  ds.dim = static_cast<int>(m.cols);
  ds.n_c_labels = 1, ds.n_u_labels = 1;
  ProbeSample s;
  s.n_words = n;
  s.vectors = m.data;
  probe.norm.apply(s.vectors, ds.dim);  // the map the probe was fitted on (train-split statistics)
  s.d.assign(n - 1, 0), s.c.assign(n - 1, 0), s.u.assign(n, 0);  // placeholders: prediction ignores them
  ds.samples.push_back(std::move(s));
  const DcuPrediction pred = predict_ast_probe(probe.model, ds, probe.vocab).at(0);

  DecodeVocab store_vocab;
  store_vocab.c.labels = r.c_vocab(), store_vocab.u.labels = r.u_vocab();
  store_vocab.c.empty_id = find_label(store_vocab.c.labels, "<empty>");
  store_vocab.u.empty_id = find_label(store_vocab.u.labels, "<empty>");
  store_vocab.sep = probe.vocab.sep;
  DcuPrediction g;
  g.d.assign(gold.d.begin(), gold.d.end()), g.c = gold.c, g.u = gold.u;
  // Gold and prediction are decoded with their own vocabularies and compared as labelled strings,
  // so a probe trained on another store (another label numbering) still scores correctly.
  v.gold = decode_tree(g, store_vocab);
  v.predicted = decode_tree(pred, probe.vocab);
  v.gold_d = gold.d, v.pred_d = pred.d;
  v.gold_c = names(gold.c, store_vocab.c.labels), v.gold_u = names(gold.u, store_vocab.u.labels);
  v.pred_c = names(pred.c, probe.vocab.c.labels), v.pred_u = names(pred.u, probe.vocab.u.labels);
  v.counts = match_constituents(constituents(v.predicted), constituents(v.gold));
  v.prf = prf(v.counts);
  return v;
}

std::string to_indented(const DecodedTree& tree, const std::vector<std::string>& tokens) {
  std::string out;
  for (int r : tree.roots) indent(tree, r, 0, tokens, out);
  return out;
}

std::vector<std::string> word_texts(const std::string& code, const std::vector<store::Span>& spans) {
  std::vector<std::string> out;
  for (const store::Span& s : spans) {
    if (s.begin < 0 || s.end < s.begin || static_cast<size_t>(s.end) > code.size())
      throw InputError("word span [" + std::to_string(s.begin) + ", " + std::to_string(s.end) +
                       ") outside the snippet's " + std::to_string(code.size()) + " bytes (wrong corpus?)");
    out.push_back(code.substr(static_cast<size_t>(s.begin), static_cast<size_t>(s.end - s.begin)));
  }
  return out;
}

}  // namespace ps::probes
