#include "models/intervene/flexround.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "models/optim/adam.h"
#include "models/safetensors/safetensors.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "models/util/sha256.h"

namespace ps::models {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

FlexRoundWeight::FlexRoundWeight(const at::Tensor& w, int bits, bool per_channel, bool symmetric) {
  at::NoGradGuard no_grad;
  w_ = w.to(at::kFloat).contiguous().clone();
  grid_ = minmax_grid(w_, bits, per_channel, symmetric);
  d1_ = grid_.log_scale.clone().requires_grad_(true);
  d2_ = at::zeros_like(w_).requires_grad_(true);
  d3_ = at::zeros({w_.size(0), 1}, w_.options()).requires_grad_(true);
  lo_ = symmetric ? at::full_like(grid_.scale, double(grid_.code_min())) : -grid_.zero_point;
  hi_ = double(grid_.code_max()) - (symmetric ? at::zeros_like(grid_.scale) : grid_.zero_point);
}

at::Tensor FlexRoundWeight::forward() const {
  const auto s1 = d1_.exp();
  const auto x = w_ / (s1 * (d2_ + d3_).exp());
  const auto rounded = x + (at::round(x) - x).detach();  // straight-through: forward round(x), gradient 1
  return at::clamp(rounded, lo_, hi_) * s1;
}

QuantizedWeight FlexRoundWeight::freeze() const {
  at::NoGradGuard no_grad;
  QuantizedWeight q;
  q.grid = grid_;
  q.grid.log_scale = d1_.detach().clone();
  q.grid.scale = q.grid.log_scale.exp();
  const auto x = w_ / (q.grid.scale * (d2_.detach() + d3_.detach()).exp());
  const auto xq = at::clamp(at::round(x), lo_, hi_);
  q.codes = xq + q.grid.zero_point;
  q.dequant = xq * q.grid.scale;
  return q;
}

at::Tensor lp_loss(const at::Tensor& pred, const at::Tensor& target) { return (pred - target).pow(2).sum(1).mean(); }

namespace {

constexpr int64_t kChunk = 8;  // calibration sequences per no-grad forward

// Block `layer` over every row of x, a few sequences at a time, with `replaced` weights.
at::Tensor run_block_rows(const Transformer& m, int64_t layer, const at::Tensor& x,
                          const std::map<std::string, at::Tensor>& replaced) {
  std::vector<at::Tensor> parts;
  for (int64_t i = 0; i < x.size(0); i += kChunk)
    parts.push_back(m.forward_block(layer, x.slice(0, i, std::min(x.size(0), i + kChunk)), {}, {}, replaced));
  return at::cat(parts, 0);
}

at::Tensor embed_rows(const Transformer& m, const at::Tensor& ids) {
  std::vector<at::Tensor> parts;
  Capture c;
  c.hooks = {"blocks.0.hook_resid_pre"};
  for (int64_t i = 0; i < ids.size(0); i += kChunk) {
    ForwardInput in;
    in.input_ids = ids.slice(0, i, std::min(ids.size(0), i + kChunk));
    parts.push_back(m.forward(in, c).hooks.at("blocks.0.hook_resid_pre"));
  }
  return at::cat(parts, 0);
}

std::map<std::string, at::Tensor> dequantized(const std::map<std::string, QuantizedWeight>& w, int64_t block) {
  const std::string prefix = "blocks." + std::to_string(block) + ".";
  std::map<std::string, at::Tensor> out;
  for (const auto& [k, q] : w)
    if (k.rfind(prefix, 0) == 0) out[k] = q.dequant;
  return out;
}

// (lp_loss, Σ(Ŷ−Y)², ΣY²) of block `layer` with `replaced` over every calibration row.
std::array<double, 3> block_error(const Transformer& m, int64_t layer, const at::Tensor& x, const at::Tensor& y,
                                  const std::map<std::string, at::Tensor>& replaced) {
  const auto out = run_block_rows(m, layer, x, replaced);
  c10::InferenceMode guard;
  const double err = (out - y).pow(2).sum().item<double>();
  return {lp_loss(out, y).item<double>(), err, y.pow(2).sum().item<double>()};
}

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// The authors' DataLoader(shuffle=True): a fresh permutation of the calibration rows each epoch.
std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t block, int64_t epoch) {
  std::mt19937_64 rng(splitmix(seed ^ splitmix(uint64_t(block) * 1000003u + uint64_t(epoch))));
  std::vector<int64_t> p(n);
  for (int64_t i = 0; i < n; ++i) p[i] = i;
  for (int64_t i = n; i > 1; --i) std::swap(p[i - 1], p[rng() % uint64_t(i)]);
  return p;
}

st::TensorData tensor_data(const std::string& name, const at::Tensor& t) {
  const auto c = t.detach().to(at::kFloat).contiguous();
  st::TensorData d{name, st::DType::F32, c.sizes().vec(), std::string(size_t(c.nbytes()), '\0')};
  std::memcpy(d.bytes.data(), c.data_ptr(), d.bytes.size());
  return d;
}

at::Tensor read_f32(const st::File& f, const std::string& name) {
  const auto& info = f.at(name);
  if (info.dtype != st::DType::F32) throw InputError(f.source() + ": tensor '" + name + "': expected F32");
  auto t = at::empty(info.shape, at::kFloat);
  std::memcpy(t.data_ptr(), info.data, info.nbytes);
  return t;
}

json report_json(const FlexRoundBlockReport& r) {
  return {{"block", r.block},           {"loss_rtn", r.loss_rtn},         {"loss_final", r.loss_final},
          {"rel_err_rtn", r.rel_err_rtn}, {"rel_err_final", r.rel_err_final}, {"codes_changed", r.codes_changed},
          {"seconds", r.seconds}};
}

FlexRoundBlockReport report_from(const json& j) {
  FlexRoundBlockReport r;
  r.block = j.at("block"), r.loss_rtn = j.at("loss_rtn"), r.loss_final = j.at("loss_final");
  r.rel_err_rtn = j.at("rel_err_rtn"), r.rel_err_final = j.at("rel_err_final");
  r.codes_changed = j.at("codes_changed"), r.seconds = j.at("seconds");
  return r;
}

// Everything a saved block depends on: the settings, the weights and the calibration tokens.
std::string run_identity(const Transformer& m, const FlexRoundRun& run) {
  Sha256 weights, data;
  for (const auto& [k, t] : m.parameters()) {
    const auto c = t.to(at::kFloat).contiguous();
    weights.update(k.data(), k.size());
    weights.update(c.data_ptr(), size_t(c.nbytes()));
  }
  for (const auto& s : run.calibration) data.update(s.data(), s.size() * sizeof(int32_t));
  const auto& q = run.spec;
  return json{{"bits", q.bits},       {"per_channel", q.per_channel}, {"symmetric", q.symmetric},
              {"iters", q.iters},     {"batch", q.batch},             {"lr", q.learning_rate()},
              {"seed", q.seed},       {"keys", run.keys},             {"weights_sha256", weights.hex_digest()},
              {"calibration_sha256", data.hex_digest()}}
      .dump();
}

}  // namespace

FlexRoundResult flexround_quantize(const Transformer& model, const FlexRoundRun& run) {
  using Clock = std::chrono::steady_clock;
  const auto& q = run.spec;
  const int64_t L = model.arch().n_layers;
  if (run.calibration.empty()) throw InputError("flexround: no calibration sequences");
  const int64_t S = int64_t(run.calibration[0].size());
  std::vector<int64_t> flat;
  for (const auto& s : run.calibration) {
    if (int64_t(s.size()) != S || S == 0) throw InputError("flexround: calibration sequences must share one non-zero length");
    flat.insert(flat.end(), s.begin(), s.end());
  }
  const int64_t N = int64_t(run.calibration.size());
  const auto ids = at::tensor(flat, at::kLong).reshape({N, S});
  std::vector<std::vector<std::string>> block_keys(L);
  for (const auto& k : run.keys) {
    int64_t b = -1;
    if (std::sscanf(k.c_str(), "blocks.%ld.", &b) != 1 || b < 0 || b >= L) throw InputError("flexround: '" + k + "' is not a block weight");
    block_keys[b].push_back(k);
  }

  FlexRoundResult res;
  res.blocks_total = L;
  const std::string identity = run_identity(model, run);
  const std::string state_path = run.work_dir.empty() ? "" : run.work_dir + "/state.json";
  if (!state_path.empty() && file_exists(state_path)) {
    const json state = json::parse(read_file(state_path), nullptr, false);
    if (state.is_discarded() || !state.contains("identity") || state["identity"] != identity) {
      std::fprintf(stderr, "flexround: discarding %s (a partial run with other settings, weights or calibration data)\n",
                   run.work_dir.c_str());
      std::error_code ec;
      fs::remove_all(run.work_dir, ec);
    } else {
      res.blocks_done = state.at("blocks_done");
      for (const auto& r : state.at("reports")) res.blocks.push_back(report_from(r));
      for (int64_t b = 0; b < res.blocks_done; ++b) {
        const auto f = st::File::open(run.work_dir + "/block-" + std::to_string(b) + ".safetensors");
        for (const auto& k : block_keys[b]) {
          QuantizedWeight w;
          w.grid.bits = q.bits, w.grid.symmetric = q.symmetric;
          w.grid.log_scale = read_f32(f, k + ".log_scale");
          w.grid.scale = w.grid.log_scale.exp();
          w.grid.zero_point = read_f32(f, k + ".zero_point");
          w.codes = read_f32(f, k + ".codes");
          w.dequant = read_f32(f, k + ".dequant");
          res.weights[k] = std::move(w);
        }
      }
      std::fprintf(stderr, "flexround: resuming after block %lld of %lld (%s)\n", (long long)res.blocks_done,
                   (long long)L, run.work_dir.c_str());
    }
  }

  // Inputs: X_fp through the full-precision blocks, X_q through the quantised prefix (recomputed on resume
  // by the same calls, so a resumed run sees the same bits).
  at::Tensor x_fp = embed_rows(model, ids), x_q = x_fp;
  for (int64_t b = 0; b < res.blocks_done; ++b) {
    x_q = run_block_rows(model, b, x_q, dequantized(res.weights, b));
    x_fp = run_block_rows(model, b, x_fp, {});
  }
  if (run.progress) run.progress->set_total((L - res.blocks_done) * q.iters);
  const double lr0 = q.learning_rate();
  const int64_t report_every = std::max<int64_t>(1, q.iters / 10);
  int64_t finished_now = 0;
  for (int64_t b = res.blocks_done; b < L; ++b) {
    if (run.stop_after_blocks > 0 && finished_now >= run.stop_after_blocks) break;
    const auto t0 = Clock::now();
    if (run.on_block_inputs) run.on_block_inputs(b, x_q);
    const at::Tensor y = run_block_rows(model, b, x_fp, {});
    std::vector<std::pair<std::string, FlexRoundWeight>> learn;
    for (const auto& k : block_keys[b])
      learn.emplace_back(k, FlexRoundWeight(model.parameters().at(k), q.bits, q.per_channel, q.symmetric));
    auto current = [&] {
      std::map<std::string, at::Tensor> r;
      for (const auto& [k, w] : learn) r[k] = w.forward();
      return r;
    };
    FlexRoundBlockReport rep;
    rep.block = b;
    {
      std::map<std::string, at::Tensor> init;
      for (const auto& [k, w] : learn) init[k] = w.freeze().dequant;
      const auto e = block_error(model, b, x_q, y, init);
      rep.loss_rtn = e[0], rep.rel_err_rtn = e[2] > 0 ? e[1] / e[2] : 0;
    }
    std::vector<optim::AdamParam> params;
    for (const auto& [k, w] : learn) {
      const auto p = w.parameters();
      for (size_t i = 0; i < p.size(); ++i) params.push_back({k + ".delta" + std::to_string(i + 1), p[i], 1.0, false});
    }
    optim::Adam adam(params, optim::AdamOptions{});
    std::vector<int64_t> order;
    size_t next = 0;
    int64_t epoch = 0;
    for (int64_t t = 0; t < q.iters; ++t) {
      if (run.progress && run.progress->cancelled()) {
        std::fprintf(stderr, "flexround: interrupted in block %lld; %lld blocks are saved\n", (long long)b,
                     (long long)res.blocks_done);
        return res;
      }
      std::vector<int64_t> batch;
      while (int64_t(batch.size()) < q.batch) {
        if (next >= order.size()) {
          if (!batch.empty()) break;  // the epoch's last, smaller batch (DataLoader drop_last=False)
          order = epoch_permutation(N, q.seed, b, epoch++);
          next = 0;
        }
        batch.push_back(order[next++]);
      }
      const auto idx = at::tensor(batch, at::kLong);
      const auto out = model.forward_block(b, x_q.index_select(0, idx), {}, {}, current(), true);
      const auto loss = lp_loss(out, y.index_select(0, idx));
      loss.backward();
      const double lr = lr0 * 0.5 * (1.0 + std::cos(M_PI * double(t) / double(q.iters)));  // CosineAnnealingLR
      adam.step(lr);
      adam.zero_grad();
      if (run.progress) run.progress->advance(1);
      if (t == 0 || (t + 1) % report_every == 0 || t + 1 == q.iters)
        std::fprintf(stderr, "flexround: block %lld/%lld iter %lld/%lld loss %.5g lr %.3g\n", (long long)(b + 1),
                     (long long)L, (long long)(t + 1), (long long)q.iters, loss.item<double>(), lr);
    }
    std::map<std::string, at::Tensor> frozen;
    int64_t changed = 0, total = 0;
    for (const auto& [k, w] : learn) {
      auto fq = w.freeze();
      const auto rtn = quantize_codes(model.parameters().at(k), w.init_grid());
      changed += (fq.codes != rtn).sum().item<int64_t>();
      total += rtn.numel();
      frozen[k] = fq.dequant;
      res.weights[k] = std::move(fq);
    }
    const auto e = block_error(model, b, x_q, y, frozen);
    rep.loss_final = e[0], rep.rel_err_final = e[2] > 0 ? e[1] / e[2] : 0;
    rep.codes_changed = total ? double(changed) / double(total) : 0;
    rep.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    std::fprintf(stderr, "flexround: block %lld/%lld done: relative error %.4g (RTN %.4g), %.1f%% of codes moved, %.1f s\n",
                 (long long)(b + 1), (long long)L, rep.rel_err_final, rep.rel_err_rtn, 100 * rep.codes_changed, rep.seconds);
    res.blocks.push_back(rep);
    x_q = run_block_rows(model, b, x_q, frozen);
    x_fp = y;
    res.blocks_done = b + 1;
    ++finished_now;
    if (!run.work_dir.empty()) {
      fs::create_directories(run.work_dir);
      std::vector<st::TensorData> saved;
      for (const auto& k : block_keys[b]) {
        const auto& w = res.weights.at(k);
        saved.push_back(tensor_data(k + ".codes", w.codes));
        saved.push_back(tensor_data(k + ".dequant", w.dequant));
        saved.push_back(tensor_data(k + ".log_scale", w.grid.log_scale));
        saved.push_back(tensor_data(k + ".zero_point", w.grid.zero_point));
      }
      st::write(run.work_dir + "/block-" + std::to_string(b) + ".safetensors", saved);
      json reports = json::array();
      for (const auto& r : res.blocks) reports.push_back(report_json(r));
      write_file_atomic(state_path, json{{"identity", identity}, {"blocks_done", res.blocks_done}, {"reports", reports}}.dump(2) + "\n");
    }
  }
  return res;
}

}  // namespace ps::models
