// One committed group → the store's SnippetBatch: ids, spans, labels, pooled word vectors, raw token vectors,
// attention patterns and the structural tables.
#include <ATen/ATen.h>

#include <algorithm>

#include "data/extract/detail/pipeline.h"
#include "models/util/error.h"

namespace ps::extract::detail {

models::Capture Plan::capture() const {
  models::Capture c;
  for (Hook h : hooks)
    for (int l : layers)
      if (h == Hook::resid_post || l > 0) c.hooks.insert(model_hook(h, l));
  for (int l : token_layers) c.hooks.insert(model_hook(Hook::resid_post, l));
  for (int l : attention_layers) c.hooks.insert("blocks." + std::to_string(l - 1) + ".attn.hook_pattern");
  if (raw_last_block) c.hooks.insert(raw_last_block_hook());
  return c;
}

namespace {

const at::Tensor& hook_of(const models::SequenceStates& s, const std::string& name, const std::string& id) {
  auto it = s.hooks.find(name);
  if (it == s.hooks.end()) throw RuntimeError(id + ": the model returned no '" + name + "'");
  return it->second;
}

store::ActBlock& act(store::SnippetBatch& b, const std::string& name, store::Rows rows, const Plan& plan) {
  auto [it, fresh] = b.acts.try_emplace(name);
  if (fresh) {
    it->second.rows = rows;
    it->second.store = plan.store_dtype;
    it->second.data = store::Block(store::DType::f32, plan.d_model);
  }
  return it->second;
}

store::Snippet snippet_record(const Prepared& p, bool with_syntax) {
  const auto& a = p.alignment;
  store::Snippet s;
  s.id = p.snippet.id;
  s.input_ids.assign(a.encoding.ids.begin(), a.encoding.ids.end());
  for (const auto& o : a.encoding.offsets) s.char_spans.push_back({int64_t(o.first), int64_t(o.second)});
  for (int64_t w = 0; w < a.n_words(); ++w) {
    s.word_spans.push_back({a.word_spans[w].first, a.word_spans[w].second});
    // A contiguous cover of each word's subwords; the exact set pooled is the word_pool table.
    const int64_t b = a.word_offsets[w], e = a.word_offsets[w + 1];
    if (b == e) {
      s.word_subwords.push_back({0, 0});
    } else {
      auto [lo, hi] = std::minmax_element(a.word_subwords.begin() + b, a.word_subwords.begin() + e);
      s.word_subwords.push_back({*lo, *hi + 1});
    }
  }
  if (with_syntax) {
    s.syn_d.assign(p.dcu.d.begin(), p.dcu.d.end());
    s.syn_c = p.dcu.c;
    s.syn_u = p.dcu.u;
  }
  return s;
}

void add_column(store::TableBlock& t, const std::string& col, store::DType type) {
  t.columns.try_emplace(col, type, 0);
}

// -1 when the corpus has no (or a non-standard) split for the snippet.
int32_t split_id(const std::string& split) {
  if (split == "train") return 0;
  if (split == "valid") return 1;
  if (split == "test") return 2;
  return -1;
}

}  // namespace

store::SnippetBatch make_batch(const Plan& plan, const Group& group, const std::vector<models::SequenceStates>& states) {
  if (states.size() != group.size()) throw RuntimeError("extract: internal: states and snippets differ in number");
  store::SnippetBatch b;
  b.with_syntax = plan.prepare.syntax;
  auto& meta = b.tables["snippet_meta"];
  add_column(meta, "split", store::DType::i32);
  add_column(meta, "source_index", store::DType::i64);
  add_column(meta, "shared_pairs", store::DType::i32);
  // Exactly which subwords each word pooled, one (word, token) row per pair, both relative to the snippet:
  // /words/subword_spans is only their contiguous cover.
  auto& word_pool = b.tables["word_pool"];
  add_column(word_pool, "word", store::DType::i32);
  add_column(word_pool, "token", store::DType::i32);
  if (b.with_syntax) {
    add_column(b.tables["structural"], "depth", store::DType::i32);
    add_column(b.tables["structural"], "leaf_node", store::DType::i32);
    add_column(b.tables["ast_nodes"], "parent", store::DType::i32);
  }
  std::vector<float> pooled;
  for (size_t k = 0; k < group.size(); ++k) {
    const Prepared& p = group[k];
    const auto& st = states[k];
    const int64_t n = p.alignment.n_subwords(), W = p.alignment.n_words(), d = plan.d_model;
    b.snippets.push_back(snippet_record(p, b.with_syntax));
    for (Hook h : plan.hooks)
      for (int l : plan.layers) {
        if (h != Hook::resid_post && l == 0) continue;
        const at::Tensor& x = hook_of(st, model_hook(h, l), p.snippet.id);
        pooled.assign(size_t(W * d), 0.f);
        align::pool(p.alignment, x.data_ptr<float>(), n, d, plan.pool, pooled.data());
        act(b, "words/" + store_suffix(h, l), store::Rows::words, plan)
            .data.append(pooled.data(), W);
      }
    if (plan.raw_last_block) {
      const at::Tensor& x = hook_of(st, plan.raw_last_block_hook(), p.snippet.id);
      pooled.assign(size_t(W * d), 0.f);
      align::pool(p.alignment, x.data_ptr<float>(), n, d, plan.pool, pooled.data());
      act(b, "words/" + plan.raw_last_block_hook(), store::Rows::words, plan).data.append(pooled.data(), W);
    }
    for (int l : plan.token_layers) {
      const at::Tensor& x = hook_of(st, model_hook(Hook::resid_post, l), p.snippet.id);
      act(b, "tokens/" + store_suffix(Hook::resid_post, l), store::Rows::tokens, plan).data.append(x.data_ptr<float>(), n);
    }
    for (int l : plan.attention_layers) {
      const at::Tensor pat = hook_of(st, "blocks." + std::to_string(l - 1) + ".attn.hook_pattern", p.snippet.id)
                                 .index_select(0, at::tensor(std::vector<int64_t>(plan.heads.begin(), plan.heads.end())))
                                 .to(at::kFloat)
                                 .contiguous();
      auto& t = b.tables[store::attn_table(l)];
      auto [col, fresh] = t.columns.try_emplace("pattern", store::DType::f32, 0);
      col->second.append(pat.data_ptr<float>(), pat.numel());
      t.counts.push_back(pat.numel());
    }
    const int32_t split = split_id(p.snippet.split);
    meta.columns["split"].append(&split, 1);
    meta.columns["source_index"].append(&p.source_index, 1);
    const int32_t shared = int32_t(p.alignment.n_shared_pairs);
    meta.columns["shared_pairs"].append(&shared, 1);
    meta.counts.push_back(1);
    {
      const auto& a = p.alignment;
      std::vector<int32_t> words, tokens;
      for (int64_t w = 0; w < W; ++w)
        for (int64_t k = a.word_offsets[w]; k < a.word_offsets[w + 1]; ++k)
          words.push_back(int32_t(w)), tokens.push_back(int32_t(a.word_subwords[k]));
      word_pool.columns["word"].append(words.data(), int64_t(words.size()));
      word_pool.columns["token"].append(tokens.data(), int64_t(tokens.size()));
      word_pool.counts.push_back(int64_t(words.size()));
    }
    if (b.with_syntax) {
      auto& s = b.tables["structural"];
      s.columns["depth"].append(p.leaf_depth.data(), W);
      s.columns["leaf_node"].append(p.leaf_node.data(), W);
      s.counts.push_back(W);
      auto& nodes = b.tables["ast_nodes"];
      nodes.columns["parent"].append(p.node_parent.data(), int64_t(p.node_parent.size()));
      nodes.counts.push_back(int64_t(p.node_parent.size()));
    }
  }
  // Attention patterns are stored in the activation dtype: they are as large as everything else together.
  for (int l : plan.attention_layers) {
    auto& col = b.tables[store::attn_table(l)].columns["pattern"];
    if (plan.store_dtype != store::DType::f32) col = col.converted(plan.store_dtype);
  }
  return b;
}

}  // namespace ps::extract::detail
