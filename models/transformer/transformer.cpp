// Transformer::forward and the hook plumbing. Loading lives in transformer_load.cpp.
#include "models/transformer/transformer.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <torch/version.h>

#include <limits>
#include <optional>

#include "models/transformer/detail/fast_gelu.h"
#include "models/transformer/detail/fast_norm.h"
#include "models/transformer/detail/swiglu.h"
#include "models/transformer/detail/lambda_attention.h"
#include "models/transformer/detail/masked_softmax.h"
#include "models/transformer/detail/packed_attention.h"
#include "models/transformer/detail/rotary.h"
#include "models/transformer/masks.h"
#include "models/util/error.h"
#include "models/util/spec.h"

namespace ps::models {

namespace {

const char* const kBlockHooks[] = {"hook_resid_pre", "hook_resid_mid", "hook_resid_post",
                                   "hook_attn_out",  "hook_mlp_out",   "attn.hook_pattern"};

at::Tensor activate(Activation a, const at::Tensor& x) {
  switch (a) {
    case Activation::GeluNew: return gelu_tanh(x);
    case Activation::Gelu: return at::gelu(x);
    case Activation::Relu: return at::relu(x);
    case Activation::Silu: return at::silu(x);
  }
  return x;
}

bool parse_int(const std::string& s, int64_t& v) {
  return spec::try_int(s, v);
}

// Requested hook name → canonical name (non-negative layer), or "" if it is not a hook of this model.
std::string canonical_hook(const std::string& name, int64_t n_layers, const std::set<std::string>& all) {
  auto layer_fix = [&](int64_t l) { return l < 0 ? l + n_layers : l; };
  if (name.rfind("blocks.", 0) == 0) {
    const auto dot = name.find('.', 7);
    int64_t l;
    if (dot == std::string::npos || !parse_int(name.substr(7, dot - 7), l)) return "";
    const std::string c = "blocks." + std::to_string(layer_fix(l)) + name.substr(dot);
    return all.count(c) ? c : "";
  }
  if (name.rfind("hidden_states.", 0) == 0) {
    int64_t l;
    if (!parse_int(name.substr(14), l)) return "";
    if (l < 0) l += n_layers + 1;
    const std::string c = "hidden_states." + std::to_string(l);
    return all.count(c) ? c : "";
  }
  return all.count(name) ? name : "";
}

}  // namespace

std::vector<std::string> Transformer::hook_names() const {
  std::vector<std::string> out{"hook_embed"};
  if (arch_.positional == PositionalKind::Learned) out.push_back("hook_pos_embed");
  if (param("embed.token_types").defined()) out.push_back("hook_token_type_embed");
  for (int64_t l = 0; l < arch_.n_layers; ++l)
    for (const char* h : kBlockHooks) out.push_back("blocks." + std::to_string(l) + "." + h);
  if (arch_.family != Family::BERT) out.push_back("ln_final.hook_normalized");
  for (int64_t l = 0; l <= arch_.n_layers; ++l) out.push_back("hidden_states." + std::to_string(l));
  return out;
}

std::string Transformer::hidden_state_hook(int layer) const {
  const int64_t n = arch_.n_layers;
  const int64_t l = layer < 0 ? layer + n + 1 : layer;
  if (l < 0 || l > n)
    throw InputError("layer " + std::to_string(layer) + ": out of range for a model with " + std::to_string(n) +
                     " layers (valid: 0.." + std::to_string(n) + " or negative from the end)");
  return "hidden_states." + std::to_string(l);
}

at::Tensor Transformer::norm(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) const {
  if (fast_norm_applies(x, w, arch_.norm == NormKind::RMSNorm ? at::Tensor() : b))
    return arch_.norm == NormKind::RMSNorm ? rms_norm_fast(x, w, arch_.norm_eps) : layer_norm_fast(x, w, b, arch_.norm_eps);
  if (arch_.norm == NormKind::RMSNorm && at::GradMode::is_enabled() && rms_norm_grad_applies(x, w))
    return rms_norm_autograd(x, w, arch_.norm_eps);
  if (arch_.norm == NormKind::RMSNorm) {
    // HF LlamaRMSNorm: normalise in fp32, cast back, then scale in the input dtype.
    const auto xf = x.to(at::kFloat);
    const auto y = xf * at::rsqrt(xf.pow(2).mean(-1, true) + arch_.norm_eps);
    return w * y.to(x.scalar_type());
  }
  if (x.scalar_type() == at::kFloat) return at::layer_norm(x, {x.size(-1)}, w, b, arch_.norm_eps);
  return at::layer_norm(x.to(at::kFloat), {x.size(-1)}, w.to(at::kFloat), b.to(at::kFloat), arch_.norm_eps)
      .to(x.scalar_type());
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> Transformer::project_qkv(const Block& blk, const at::Tensor& h,
                                                                        const at::Tensor& cos,
                                                                        const at::Tensor& sin) const {
  const int64_t H = arch_.n_heads, Hkv = arch_.n_kv_heads, hd = arch_.head_dim;
  at::Tensor q, k, v;
  if (blk.qkv_w.defined()) {
    auto qkv = at::linear(h, blk.qkv_w, blk.qkv_b).chunk(3, -1);
    q = qkv[0], k = qkv[1], v = qkv[2];
  } else {
    q = at::linear(h, blk.q_w, blk.q_b);
    k = at::linear(h, blk.k_w, blk.k_b);
    v = at::linear(h, blk.v_w, blk.v_b);
  }
  auto heads = [&](const at::Tensor& x, int64_t n) {
    auto shape = h.sizes().vec();
    shape.back() = n;
    shape.push_back(hd);
    return x.reshape(shape);  // [..., heads, hd]
  };
  q = heads(q, H), k = heads(k, Hkv), v = heads(v, Hkv);
  if (cos.defined()) q = apply_rope(q, cos, sin), k = apply_rope(k, cos, sin);
  return {q, k, v};
}

Transformer::Attended Transformer::attention(const Block& blk, const at::Tensor& h, const at::Tensor& keep,
                                             const at::Tensor& cos, const at::Tensor& sin, bool want_pattern) const {
  const int64_t B = h.size(0), S = h.size(1), H = arch_.n_heads, Hkv = arch_.n_kv_heads, hd = arch_.head_dim;
  auto [q, k, v] = project_qkv(blk, h, cos, sin);
  q = q.transpose(1, 2), k = k.transpose(1, 2), v = v.transpose(1, 2);  // [B, heads, S, hd]
  if (Hkv != H) {  // GQA: query head i reads kv head i / (H / Hkv), as HF's repeat_kv
    k = k.repeat_interleave(H / Hkv, 1);
    v = v.repeat_interleave(H / Hkv, 1);
  }
  const double scale = 1.0 / std::sqrt(double(hd));
  Attended res;
  at::Tensor ctx;
#if TORCH_VERSION_MAJOR >= 2
  if (!want_pattern) {
    // Fused kernel; an additive mask keeps repaired rows finite on every backend.
    const auto add = at::zeros({B, 1, S, S}, q.options()).masked_fill(keep.logical_not().unsqueeze(1),
                                                                         -std::numeric_limits<float>::infinity());
    ctx = at::scaled_dot_product_attention(q, k, v, add);
  }
#endif
  if (!ctx.defined()) {
    auto raw = at::matmul(q, k.transpose(-1, -2));  // [B, H, S, S]
    at::Tensor probs;
    if (!want_pattern && raw.requires_grad() && at::GradMode::is_enabled()) {
      // Training: the fused softmax with its own backward (the chain below costs five passes each way).
      const auto flat = raw.reshape({B * H, S, S});
      const auto blocked = keep.logical_not().contiguous();
      if (masked_softmax_applies(flat, blocked)) probs = masked_softmax_autograd(flat, blocked, scale).view({B, H, S, S});
    }
    if (!probs.defined()) {
      // Scores and softmax in fp32 (bf16/fp16 softmax loses too much); lowest finite value, not -inf.
      auto scores = raw.to(at::kFloat) * scale;
      scores = scores.masked_fill(keep.logical_not().unsqueeze(1), std::numeric_limits<float>::lowest());
      probs = at::softmax(scores, -1).to(q.scalar_type());
    }
    if (want_pattern) res.pattern = probs;
    ctx = at::matmul(probs, v);
  }
  ctx = ctx.transpose(1, 2).reshape({B, S, H * hd});
  res.out = at::linear(ctx, blk.o_w, blk.o_b);
  return res;
}

at::Tensor Transformer::mlp(const Block& blk, const at::Tensor& h) const {
  auto up = at::linear(h, blk.in_w, blk.in_b);
  if (blk.gate_w.defined() && arch_.activation == Activation::Silu)
    up = silu_mul(at::linear(h, blk.gate_w, blk.gate_b), up);  // SwiGLU in one pass (and one backward)
  else if (blk.gate_w.defined())
    up = activate(arch_.activation, at::linear(h, blk.gate_w, blk.gate_b)) * up;
  else up = activate(arch_.activation, up);
  return at::linear(up, blk.out_w, blk.out_b);
}

at::Tensor Transformer::lm_logits(const at::Tensor& x) const {
  const at::Tensor& W = param("unembed.weight").defined() ? param("unembed.weight") : param("embed.tokens");
  if (arch_.family != Family::BERT) return at::linear(x, W);
  // BERT/RoBERTa masked-LM head: dense → gelu → LayerNorm → decoder (+ bias).
  auto h = at::linear(x, param("mlm.dense.weight"), param("mlm.dense.bias"));
  // BertPredictionHeadTransform uses hidden_act; RobertaLMHead always the exact gelu.
  h = arch_.model_type == "bert" ? activate(arch_.activation, h) : at::gelu(h);
  h = norm(h, param("mlm.ln.weight"), param("mlm.ln.bias"));
  return at::linear(h, W, param("mlm.bias"));
}

at::Tensor Transformer::head_logits(const at::Tensor& x, int64_t layer) const {
  if (!has_lm_head())
    throw InputError(source_ + ": the checkpoint has no language-model head" +
                     std::string(arch_.family == Family::BERT ? " (no lm_head.* / cls.predictions.* tensors)" : ""));
  if (layer < 0 || layer > arch_.n_layers)
    throw InputError("head_logits: layer " + std::to_string(layer) + " is outside 0.." + std::to_string(arch_.n_layers));
  c10::InferenceMode guard;
  const auto h = x.to(device_, dtype_);
  if (arch_.family == Family::BERT || layer == arch_.n_layers) return lm_logits(h);
  return lm_logits(norm(h, param("ln_final.weight"), param("ln_final.bias")));
}

bool Transformer::has_lm_head() const {
  if (arch_.family == Family::BERT) return param("mlm.dense.weight").defined() && param("mlm.ln.weight").defined();
  return arch_.tie_word_embeddings || param("unembed.weight").defined();
}

at::Tensor Transformer::default_mask(int64_t B, int64_t S, const at::Device& device) const {
  auto keep = at::ones({S, S}, at::TensorOptions().dtype(at::kBool).device(device));
  if (arch_.causal) keep = at::tril(keep);
  return keep.unsqueeze(0).expand({B, S, S});
}

at::Tensor Transformer::repair_empty_rows(const at::Tensor& keep) {
  // A query that may attend nothing (padding) attends to itself, so no row ever softmaxes over nothing.
  const int64_t S = keep.size(1);
  const auto empty_row = keep.any(-1, true).logical_not();
  return at::logical_or(keep, at::logical_and(empty_row, at::eye(S, keep.options()).unsqueeze(0)));
}

namespace {

void check_ids(const at::Tensor& ids, int64_t vocab) {
  if (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() >= vocab)
    throw InputError("forward: token id outside the vocabulary [0, " + std::to_string(vocab) + ")");
}

void check_positions(const at::Tensor& pos, const ArchSpec& a) {
  if (pos.min().item<int64_t>() < 0) throw InputError("forward: negative position id");
  if (a.positional == PositionalKind::Learned && pos.max().item<int64_t>() >= a.max_positions)
    throw InputError("forward: position " + std::to_string(pos.max().item<int64_t>()) + " exceeds the model's " +
                     std::to_string(a.max_positions) + " positions");
}

}  // namespace

ForwardOutput Transformer::forward(const ForwardInput& in, const Capture& capture) const {
  std::optional<c10::InferenceMode> inference;
  if (!capture.autograd) inference.emplace();
  const auto& ids = in.input_ids;
  if (!ids.defined() || ids.dim() != 2 || ids.scalar_type() != at::kLong)
    throw RuntimeError("forward: input_ids must be a [B,S] int64 tensor");
  const int64_t B = ids.size(0), S = ids.size(1);
  if (B == 0 || S == 0) return {};
  check_ids(ids, arch_.vocab_size);

  at::Tensor pos = in.position_ids;
  if (!pos.defined()) pos = at::arange(S, ids.options()).unsqueeze(0).expand({B, S});
  if (pos.sizes() != ids.sizes() || pos.scalar_type() != at::kLong)
    throw RuntimeError("forward: position_ids must be [B,S] int64 like input_ids");
  check_positions(pos, arch_);
  at::Tensor keep = in.attn_mask;
  if (!keep.defined()) keep = default_mask(B, S, ids.device());
  if (keep.dim() != 3 || keep.size(0) != B || keep.size(1) != S || keep.size(2) != S || keep.scalar_type() != at::kBool)
    throw RuntimeError("forward: attn_mask must be a [B,S,S] bool tensor");
  keep = repair_empty_rows(keep);
  const auto tt = in.token_type_ids.defined() ? in.token_type_ids : at::zeros_like(ids);
  return run_stack(ids, pos, tt, capture,
                   [&](const Block& blk, const at::Tensor& h, const at::Tensor& cos, const at::Tensor& sin,
                       bool want_pattern) { return attention(blk, h, keep, cos, sin, want_pattern); });
}

ForwardOutput Transformer::forward_packed(const PackedInput& in, const Capture& capture) const {
  std::optional<c10::InferenceMode> inference;
  if (!capture.autograd) inference.emplace();
  const auto& ids = in.input_ids;
  if (!ids.defined() || ids.dim() != 1 || ids.scalar_type() != at::kLong)
    throw RuntimeError("forward_packed: input_ids must be a [T] int64 tensor");
  int64_t total = 0;
  for (int64_t n : in.lengths) {
    if (n <= 0) throw RuntimeError("forward_packed: every sequence needs at least one token");
    total += n;
  }
  if (total != ids.size(0)) throw RuntimeError("forward_packed: lengths do not sum to the number of tokens");
  if (total == 0) return {};
  check_ids(ids, arch_.vocab_size);
  at::Tensor pos = in.position_ids;
  if (!pos.defined()) {
    pos = at::empty({total}, at::kLong);
    auto p = pos.accessor<int64_t, 1>();
    int64_t t = 0;
    for (int64_t n : in.lengths)
      for (int64_t i = 0; i < n; ++i) p[t++] = i;
    pos = pos.to(ids.device());
  }
  if (pos.sizes() != ids.sizes() || pos.scalar_type() != at::kLong)
    throw RuntimeError("forward_packed: position_ids must be [T] int64 like input_ids");
  check_positions(pos, arch_);
  const bool causal = arch_.causal;
  const SequenceMask mask = in.mask ? in.mask : SequenceMask([causal](const at::Tensor& seg) { return segment_mask(seg, causal); });
  auto plan = plan_packed_attention(in.lengths, arch_.n_heads, mask, ids.device(), in.lm_infinite);
  plan.pattern_first_row = capture.pattern_first_row, plan.pattern_rows = capture.pattern_rows;
  const double scale = 1.0 / std::sqrt(double(arch_.head_dim));
  return run_stack(ids, pos, at::zeros_like(ids), capture,
                   [&](const Block& blk, const at::Tensor& h, const at::Tensor& cos, const at::Tensor& sin,
                       bool want_pattern) {
                     Attended res;
                     auto* patterns = want_pattern ? &res.seq_patterns : nullptr;
                     at::Tensor ctx;
                     if (in.lm_infinite) {  // the global branch needs q and k before RoPE
                       auto [q, k, v] = project_qkv(blk, h, {}, {});
                       const auto o = lambda_operands(q, k, cos, sin, in.lengths, *in.lm_infinite);
                       ctx = packed_attention(o.qr, o.kr, v, plan, scale, patterns, o.qg, o.kg);
                     } else {
                       auto [q, k, v] = project_qkv(blk, h, cos, sin);
                       ctx = packed_attention(q, k, v, plan, scale, patterns);
                     }
                     res.out = at::linear(ctx, blk.o_w, blk.o_b);
                     return res;
                   },
                   in.lengths);
}

Transformer::BlockStep Transformer::run_block(const Block& blk, const at::Tensor& x, const at::Tensor& cos,
                                              const at::Tensor& sin, const AttendFn& attend, bool want_pattern) const {
  const bool post_ln = arch_.family == Family::BERT;
  BlockStep s;
  s.attended = attend(blk, post_ln ? x : norm(x, blk.ln1_w, blk.ln1_b), cos, sin, want_pattern);
  const auto& attn_out = s.attended.out;
  s.mid = post_ln ? norm(x + attn_out, blk.ln1_w, blk.ln1_b) : x + attn_out;
  s.mlp_out = mlp(blk, post_ln ? s.mid : norm(s.mid, blk.ln2_w, blk.ln2_b));
  s.out = post_ln ? norm(s.mid + s.mlp_out, blk.ln2_w, blk.ln2_b) : s.mid + s.mlp_out;
  return s;
}

ForwardOutput Transformer::run_stack(const at::Tensor& ids, const at::Tensor& pos, const at::Tensor& token_types,
                                     const Capture& capture, const AttendFn& attend,
                                     const std::vector<int64_t>& packed_lengths) const {
  const int64_t L = arch_.n_layers;
  ForwardOutput out;
  // Which canonical hooks are wanted, and under which requested names.
  const auto all_v = hook_names();
  const std::set<std::string> all(all_v.begin(), all_v.end());
  std::map<std::string, std::vector<std::string>> want;  // canonical → requested names
  int64_t last_layer = -1;                                  // deepest block needed
  bool need_final = capture.logits;
  for (const auto& name : capture.hooks) {
    const std::string c = canonical_hook(name, L, all);
    if (c.empty())
      throw InputError("capture: unknown hook '" + name + "' for this " + family_name(arch_.family) +
                       " model (e.g. blocks.0.hook_resid_post, hidden_states.0.." + std::to_string(L) + ")");
    want[c].push_back(name);
    if (c.rfind("blocks.", 0) == 0) last_layer = std::max<int64_t>(last_layer, std::stoll(c.substr(7)));
    if (c.rfind("hidden_states.", 0) == 0) {
      const int64_t l = std::stoll(c.substr(14));
      last_layer = std::max(last_layer, l - 1);
      if (l == L) need_final = true;
    }
    if (c == "ln_final.hook_normalized") need_final = true;
  }
  if (need_final) last_layer = L - 1;
  if (capture.logits && !has_lm_head())
    throw InputError(source_ + ": the checkpoint has no language-model head, so logits are not available");
  auto emit = [&](const std::string& c, const at::Tensor& t) {
    auto it = want.find(c);
    if (it == want.end()) return;
    for (const auto& n : it->second) out.hooks[n] = t;
  };
  auto wanted = [&](const std::string& c) { return want.count(c) > 0; };

  // Embeddings, summed in HF's order: words (+ token types) + positions.
  const auto tok = at::embedding(param("embed.tokens"), ids);
  emit("hook_embed", tok);
  at::Tensor x = tok;
  if (param("embed.token_types").defined()) {
    const auto tt = at::embedding(param("embed.token_types"), token_types);
    emit("hook_token_type_embed", tt);
    x = x + tt;
  }
  if (arch_.positional == PositionalKind::Learned) {
    const auto pe = at::embedding(param("embed.positions"), pos + arch_.position_offset);
    emit("hook_pos_embed", pe);
    x = x + pe;
  }
  if (arch_.family == Family::BERT) x = norm(x, param("embed.ln.weight"), param("embed.ln.bias"));
  emit("hidden_states.0", x);

  at::Tensor cos, sin;
  if (arch_.positional == PositionalKind::Rotary && last_layer >= 0) std::tie(cos, sin) = rope_cos_sin(arch_, pos, dtype_, packed_lengths);

  const bool post_ln = arch_.family == Family::BERT;
  for (int64_t l = 0; l <= last_layer; ++l) {
    const std::string p = "blocks." + std::to_string(l) + ".";
    emit(p + "hook_resid_pre", x);
    const bool want_pattern = wanted(p + "attn.hook_pattern");
    auto step = run_block(blocks_[l], x, cos, sin, attend, want_pattern);
    if (want_pattern) {
      if (step.attended.pattern.defined()) emit(p + "attn.hook_pattern", step.attended.pattern);
      if (!step.attended.seq_patterns.empty())
        for (const auto& n : want[p + "attn.hook_pattern"]) out.sequence_patterns[n] = step.attended.seq_patterns;
    }
    emit(p + "hook_attn_out", step.attended.out);
    emit(p + "hook_resid_mid", step.mid);
    emit(p + "hook_mlp_out", step.mlp_out);
    x = step.out;
    emit(p + "hook_resid_post", x);
    if (l + 1 < L || post_ln) emit("hidden_states." + std::to_string(l + 1), x);
  }
  if (need_final) {
    at::Tensor fin = x;
    if (!post_ln) {
      fin = norm(x, param("ln_final.weight"), param("ln_final.bias"));
      emit("ln_final.hook_normalized", fin);
      emit("hidden_states." + std::to_string(L), fin);  // HF appends the final entry after the final norm
    }
    if (capture.logits) out.logits = lm_logits(fin);
  }
  return out;
}

}  // namespace ps::models
