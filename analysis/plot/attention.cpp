#include "analysis/plot/attention.h"

#include <algorithm>
#include <cmath>

#include "data/store/reader.h"
#include "models/tokenizer/tokenizer.h"
#include "models/util/error.h"

namespace ps::plot {

std::vector<int> attention_layers(const ps::store::StoreReader& store) {
  std::vector<int> out;
  const std::string prefix = "attn/layer_";
  for (const auto& name : store.table_names()) {
    if (name.rfind(prefix, 0) != 0) continue;
    try {
      size_t used = 0;
      const int L = std::stoi(name.substr(prefix.size()), &used);
      if (used == name.size() - prefix.size()) out.push_back(L);
    } catch (const std::exception&) {
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

AttentionPattern load_attention(const ps::store::StoreReader& store, int64_t snippet, int layer) {
  const auto layers = attention_layers(store);
  if (layers.empty()) throw InputError(where(store.path(), "no attention tables (extract with attention capture)"));
  if (layer < 0) {
    if (-layer > int(layers.size()))
      throw InputError(where(store.path(), "layer " + std::to_string(layer) + ": only " +
                                               std::to_string(layers.size()) + " attention layers stored"));
    layer = layers[layers.size() - size_t(-layer)];
  }
  if (!std::binary_search(layers.begin(), layers.end(), layer)) {
    std::string have;
    for (int L : layers) have += (have.empty() ? "" : ",") + std::to_string(L);
    throw InputError(where(store.path(), "no attention for layer " + std::to_string(layer) + " (stored: " + have + ")"));
  }
  if (snippet < 0 || snippet >= store.num_samples())
    throw InputError(where(store.path(), "snippet " + std::to_string(snippet) + " out of range (" +
                                             std::to_string(store.num_samples()) + " snippets)"));
  AttentionPattern p;
  p.layer = layer;
  const auto range = store.token_range(snippet);
  p.n = range.end - range.begin;
  p.values = store.table(ps::store::attn_table(layer), "pattern", snippet).to_floats();
  const int64_t per_head = p.n * p.n;
  if (per_head == 0 || int64_t(p.values.size()) % per_head != 0)
    throw InputError(where(store.path(), "attn/layer_" + std::to_string(layer) + ", snippet " + std::to_string(snippet) +
                                             ": " + std::to_string(p.values.size()) + " values are not heads x " +
                                             std::to_string(p.n) + " x " + std::to_string(p.n)));
  p.heads = int64_t(p.values.size()) / per_head;
  return p;
}

std::string readable_token(const std::string& decoded) {
  const size_t b = decoded.find_first_not_of(' '), e = decoded.find_last_not_of(' ');
  if (b == std::string::npos) return decoded.empty() ? "\u2205" : "\u2423";  // ∅ for nothing, ␣ for spaces
  std::string out;
  for (size_t i = b; i <= e; ++i) {
    const unsigned char c = static_cast<unsigned char>(decoded[i]);
    if (c == '\n')
      out += "\u21b5";
    else if (c == '\t')
      out += "\u21e5";
    else if (c < 0x20 || c == 0x7f)
      out += "\u00b7";
    else
      out += char(c);
  }
  return out;
}

std::vector<std::string> token_labels(const std::vector<int32_t>& ids, const ps::tok::Tokenizer* tokenizer) {
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (int32_t id : ids) out.push_back(tokenizer ? readable_token(tokenizer->decode({id}, false)) : std::to_string(id));
  return out;
}

Heatmap attention_heatmap(const AttentionPattern& p, int head, const std::vector<std::string>& labels,
                          const std::string& title) {
  if (head >= p.heads)
    throw InputError("attention: head " + std::to_string(head) + " out of range (" + std::to_string(p.heads) + " heads)");
  Heatmap h;
  h.rows = h.cols = p.n;
  h.values.assign(size_t(p.n * p.n), 0.0);
  const size_t nn = size_t(p.n * p.n);
  if (head >= 0) {
    for (size_t i = 0; i < nn; ++i) h.values[i] = p.values[size_t(head) * nn + i];
  } else {
    for (int64_t k = 0; k < p.heads; ++k)
      for (size_t i = 0; i < nn; ++i) h.values[i] += p.values[size_t(k) * nn + i];
    for (double& v : h.values) v /= double(p.heads);
  }
  h.title = !title.empty() ? title
                           : "layer " + std::to_string(p.layer) + ", " +
                                 (head >= 0 ? "head " + std::to_string(head) : "mean of " + std::to_string(p.heads) + " heads");
  h.x_label = "key";
  h.y_label = "query";
  h.value_label = "attention";
  h.vmin = 0.0;
  h.vmax = 1.0;
  if (!labels.empty()) {
    if (int64_t(labels.size()) != p.n)
      throw InputError("attention: " + std::to_string(labels.size()) + " labels for " + std::to_string(p.n) + " tokens");
    h.row_labels = h.col_labels = labels;
  }
  return h;
}

}  // namespace ps::plot
