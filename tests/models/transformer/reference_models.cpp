#include "tests/models/transformer/reference_models.h"

#include <ATen/ATen.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "models/safetensors/safetensors.h"
#include "models/util/files.h"

namespace ps::test {

namespace {

using nlohmann::json;

struct Ckpt {
  st::File file;
  bool has(const std::string& n) const { return file.find(n) != nullptr; }
  // float64 copy of a tensor, by its HF name.
  at::Tensor get(const std::string& n) const {
    const auto& info = file.at(n);
    at::ScalarType t = info.dtype == st::DType::F32 ? at::kFloat : info.dtype == st::DType::BF16 ? at::kBFloat16 : at::kHalf;
    auto out = at::empty(info.shape, at::TensorOptions().dtype(t));
    std::memcpy(out.data_ptr(), info.data, info.nbytes);
    return out.to(at::kDouble);
  }
};

at::Tensor layer_norm(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, double eps) {
  const auto mu = x.mean(-1, true);
  const auto var = (x - mu).pow(2).mean(-1, true);
  return (x - mu) / at::sqrt(var + eps) * w + b;
}

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& w, double eps) {
  return x / at::sqrt(x.pow(2).mean(-1, true) + eps) * w;
}

at::Tensor gelu_tanh(const at::Tensor& x) {
  return 0.5 * x * (1.0 + at::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x.pow(3))));
}
at::Tensor gelu_erf(const at::Tensor& x) { return 0.5 * x * (1.0 + at::erf(x / std::sqrt(2.0))); }

// Softmax attention of one head; allowed(i, j) says whether query i sees key j.
at::Tensor head_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, bool causal, at::Tensor& probs) {
  const int64_t S = q.size(0);
  auto scores = at::matmul(q, k.t()) / std::sqrt(double(q.size(1)));
  if (causal) scores = scores.masked_fill(at::ones({S, S}, at::kBool).triu(1), -INFINITY);
  probs = at::softmax(scores, -1);
  return at::matmul(probs, v);
}

RefOutput gpt2(const json& c, const Ckpt& w, const at::Tensor& ids) {
  const int64_t L = c["n_layer"], H = c["n_head"], D = c["n_embd"], S = ids.size(0), hd = D / H;
  const double eps = c.value("layer_norm_epsilon", 1e-5);
  const std::string p = w.has("transformer.wte.weight") ? "transformer." : "";
  RefOutput r;
  auto x = w.get(p + "wte.weight").index_select(0, ids) + w.get(p + "wpe.weight").slice(0, 0, S);
  for (int64_t l = 0; l < L; ++l) {
    r.hidden_states.push_back(x);
    const std::string b = p + "h." + std::to_string(l) + ".";
    const auto a = layer_norm(x, w.get(b + "ln_1.weight"), w.get(b + "ln_1.bias"), eps);
    const auto qkv = at::matmul(a, w.get(b + "attn.c_attn.weight")) + w.get(b + "attn.c_attn.bias");  // Conv1D
    std::vector<at::Tensor> heads, pats;
    for (int64_t h = 0; h < H; ++h) {
      at::Tensor pr;
      heads.push_back(head_attention(qkv.slice(1, h * hd, (h + 1) * hd), qkv.slice(1, D + h * hd, D + (h + 1) * hd),
                                     qkv.slice(1, 2 * D + h * hd, 2 * D + (h + 1) * hd), true, pr));
      pats.push_back(pr);
    }
    r.attentions.push_back(at::stack(pats));
    x = x + at::matmul(at::cat(heads, 1), w.get(b + "attn.c_proj.weight")) + w.get(b + "attn.c_proj.bias");
    const auto m = layer_norm(x, w.get(b + "ln_2.weight"), w.get(b + "ln_2.bias"), eps);
    const auto f = gelu_tanh(at::matmul(m, w.get(b + "mlp.c_fc.weight")) + w.get(b + "mlp.c_fc.bias"));
    x = x + at::matmul(f, w.get(b + "mlp.c_proj.weight")) + w.get(b + "mlp.c_proj.bias");
  }
  x = layer_norm(x, w.get(p + "ln_f.weight"), w.get(p + "ln_f.bias"), eps);
  r.hidden_states.push_back(x);  // GPT2Model appends the last state after ln_f
  r.logits = at::matmul(x, w.get(p + "wte.weight").t());  // tied lm_head
  return r;
}

RefOutput roberta(const json& c, const Ckpt& w, const at::Tensor& ids) {
  const int64_t L = c["num_hidden_layers"], H = c["num_attention_heads"], D = c["hidden_size"], S = ids.size(0);
  const int64_t hd = D / H, pad = c["pad_token_id"];
  const double eps = c["layer_norm_eps"];
  const std::string p = "roberta.";
  auto lin = [&](const at::Tensor& x, const std::string& n) {
    return at::matmul(x, w.get(n + ".weight").t()) + w.get(n + ".bias");
  };
  auto ln = [&](const at::Tensor& x, const std::string& n) {
    return layer_norm(x, w.get(n + ".weight"), w.get(n + ".bias"), eps);
  };
  // create_position_ids_from_input_ids for a sequence without padding: pad+1, pad+2, ...
  const auto pos = at::arange(S, at::kLong) + pad + 1;
  auto x = w.get(p + "embeddings.word_embeddings.weight").index_select(0, ids) +
           w.get(p + "embeddings.token_type_embeddings.weight")[0] +
           w.get(p + "embeddings.position_embeddings.weight").index_select(0, pos);
  x = ln(x, p + "embeddings.LayerNorm");
  RefOutput r;
  r.hidden_states.push_back(x);
  for (int64_t l = 0; l < L; ++l) {
    const std::string b = p + "encoder.layer." + std::to_string(l) + ".";
    const auto q = lin(x, b + "attention.self.query"), k = lin(x, b + "attention.self.key"),
               v = lin(x, b + "attention.self.value");
    std::vector<at::Tensor> heads, pats;
    for (int64_t h = 0; h < H; ++h) {
      at::Tensor pr;
      const auto sl = [&](const at::Tensor& t) { return t.slice(1, h * hd, (h + 1) * hd); };
      heads.push_back(head_attention(sl(q), sl(k), sl(v), false, pr));
      pats.push_back(pr);
    }
    r.attentions.push_back(at::stack(pats));
    const auto a = ln(lin(at::cat(heads, 1), b + "attention.output.dense") + x, b + "attention.output.LayerNorm");
    const auto f = lin(gelu_erf(lin(a, b + "intermediate.dense")), b + "output.dense");
    x = ln(f + a, b + "output.LayerNorm");
    r.hidden_states.push_back(x);
  }
  if (w.has("lm_head.dense.weight")) {
    const auto h = ln(gelu_erf(lin(x, "lm_head.dense")), "lm_head.layer_norm");
    r.logits = at::matmul(h, w.get(p + "embeddings.word_embeddings.weight").t()) + w.get("lm_head.bias");
  }
  return r;
}

// Rotates one head [S, hd] by position, pairing dimension i with i + hd/2 (HF rotate_half).
at::Tensor rotate(const at::Tensor& x, const at::Tensor& inv_freq) {
  const int64_t S = x.size(0), half = x.size(1) / 2;
  auto out = x.clone();
  for (int64_t s = 0; s < S; ++s)
    for (int64_t i = 0; i < half; ++i) {
      const double ang = double(s) * inv_freq[i].item<double>();
      const double a = x[s][i].item<double>(), b = x[s][i + half].item<double>();
      out[s][i] = a * std::cos(ang) - b * std::sin(ang);
      out[s][i + half] = b * std::cos(ang) + a * std::sin(ang);
    }
  return out;
}

RefOutput llama(const json& c, const Ckpt& w, const at::Tensor& ids) {
  const int64_t L = c["num_hidden_layers"], H = c["num_attention_heads"], D = c["hidden_size"];
  const int64_t KV = c.value("num_key_value_heads", H), hd = D / H;
  const double eps = c["rms_norm_eps"], theta = c.value("rope_theta", 10000.0);
  double factor = 1.0;
  if (c.contains("rope_scaling") && c["rope_scaling"].is_object()) factor = c["rope_scaling"]["factor"];
  auto inv_freq = at::empty({hd / 2}, at::kDouble);
  for (int64_t i = 0; i < hd / 2; ++i) inv_freq[i] = 1.0 / std::pow(theta, double(2 * i) / double(hd)) / factor;
  auto lin = [&](const at::Tensor& x, const std::string& n) {
    auto y = at::matmul(x, w.get(n + ".weight").t());
    return w.has(n + ".bias") ? y + w.get(n + ".bias") : y;
  };
  RefOutput r;
  auto x = w.get("model.embed_tokens.weight").index_select(0, ids);
  for (int64_t l = 0; l < L; ++l) {
    r.hidden_states.push_back(x);
    const std::string b = "model.layers." + std::to_string(l) + ".";
    const auto a = rms_norm(x, w.get(b + "input_layernorm.weight"), eps);
    const auto q = lin(a, b + "self_attn.q_proj"), k = lin(a, b + "self_attn.k_proj"), v = lin(a, b + "self_attn.v_proj");
    std::vector<at::Tensor> heads, pats;
    for (int64_t h = 0; h < H; ++h) {
      const int64_t g = h / (H / KV);  // the kv head this query head shares
      at::Tensor pr;
      heads.push_back(head_attention(rotate(q.slice(1, h * hd, (h + 1) * hd), inv_freq),
                                     rotate(k.slice(1, g * hd, (g + 1) * hd), inv_freq),
                                     v.slice(1, g * hd, (g + 1) * hd), true, pr));
      pats.push_back(pr);
    }
    r.attentions.push_back(at::stack(pats));
    x = x + lin(at::cat(heads, 1), b + "self_attn.o_proj");
    const auto m = rms_norm(x, w.get(b + "post_attention_layernorm.weight"), eps);
    x = x + lin(at::silu(lin(m, b + "mlp.gate_proj")) * lin(m, b + "mlp.up_proj"), b + "mlp.down_proj");
  }
  x = rms_norm(x, w.get("model.norm.weight"), eps);
  r.hidden_states.push_back(x);  // LlamaModel appends the last state after the final norm
  const bool tied = c.value("tie_word_embeddings", false);
  r.logits = at::matmul(x, w.get(tied ? "model.embed_tokens.weight" : "lm_head.weight").t());
  return r;
}

}  // namespace

RefOutput reference_forward(const std::string& dir, const std::vector<int64_t>& ids_v) {
  const json c = json::parse(read_file(dir + "/config.json"));
  const Ckpt w{st::File::open(dir + "/model.safetensors")};
  const auto ids = at::tensor(ids_v, at::kLong);
  const std::string mt = c["model_type"];
  if (mt == "gpt2") return gpt2(c, w, ids);
  if (mt == "roberta") return roberta(c, w, ids);
  return llama(c, w, ids);
}

}  // namespace ps::test
