#include "models/train/coord_check.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>

#include "models/config/arch.h"
#include "models/tokenizer/tokenizer.h"
#include "models/train/optim.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::train {

CoordCheckResult coord_check(const CoordCheckOptions& opt, const std::vector<std::string>& train_docs) {
  if (opt.widths.size() < 2) throw InputError("--widths: give at least two widths");
  for (size_t i = 1; i < opt.widths.size(); ++i)
    if (opt.widths[i] <= opt.widths[i - 1]) throw InputError("--widths: must be increasing");
  if (opt.steps < 1) throw InputError("--steps: must be positive");
  if (opt.seeds < 1) throw InputError("--seeds: must be positive");
  if (opt.parametrizations.empty()) throw InputError("--parametrization: none given");
  const TrainOptions& t = opt.train;
  const int64_t ctx = t.shape.ctx;
  if (ctx < 2 || t.batch_tokens < ctx) throw InputError("--batch-tokens: must be at least --ctx (" + std::to_string(ctx) + ")");
  const int64_t rows = t.batch_tokens / ctx;
  at::set_num_threads(t.threads > 0 ? t.threads : int(std::max(1u, std::thread::hardware_concurrency())));

  const std::string tok_text = read_file(t.tokenizer_path);
  const auto tok = tok::Tokenizer::from_json(tok_text, t.tokenizer_path);
  const LmShape shape0 = resolve_shape(t, tok);
  const bool mlm = t.objective == "mlm";
  std::vector<std::vector<int32_t>> docs;
  for (const auto& d : train_docs) docs.push_back(tok.encode(d, false).ids);
  PackedData data(std::move(docs), int32_t(shape0.eos_id), ctx);
  if (data.rows_per_epoch() < 1) throw InputError("coord-check: the training documents hold fewer tokens than one row");
  const MlmMasking masking = mlm ? mlm_masking(t, tok_text, shape0.vocab_size) : MlmMasking{};

  CoordCheckResult res;
  res.widths = opt.widths;
  res.steps = opt.steps;
  for (const auto& pz : opt.parametrizations) {
    auto& per_p = res.mean_abs.emplace_back();
    auto& loss_p = res.loss.emplace_back();
    for (int64_t w : opt.widths) {
      LmShape shape = shape0;
      shape.d_model = w;
      shape.parametrization = pz;
      if (pz == "mup") {
        shape.tie_embeddings = false;
        if (shape.base_width <= 0) shape.base_width = opt.widths.front();
      } else {
        shape.tie_embeddings = t.shape.parametrization == "mup" ? true : t.shape.tie_embeddings;
      }
      if (t.shape.d_ff > 0) shape.d_ff = t.shape.d_ff * w / opt.widths.front();
      const auto arch = models::parse_arch(lm_config_json(shape), "coord-check width " + std::to_string(w));
      auto& per_w = per_p.emplace_back(size_t(opt.steps + 1), std::vector<double>());
      double last_loss = 0;
      for (int64_t k = 0; k < opt.seeds; ++k) {
        const uint64_t seed = t.seed + uint64_t(k);
        auto model = init_model(shape, arch, seed);
        const auto& params = model->parameters();
        for (const auto& [key, p] : params) p.requires_grad_(true);
        std::map<std::string, double> lr_scales;
        for (const auto& [key, sc] : param_scales(shape, arch, params)) lr_scales[key] = sc.lr;
        AdamW adam(params, AdamWOptions{t.beta1, t.beta2, 1e-8, t.weight_decay}, lr_scales);
        if (res.hooks.empty()) {
          res.hooks.push_back("hidden_states.0");
          for (int64_t l = 0; l < arch.n_layers; ++l)
            for (const char* h : {"hook_attn_out", "hook_mlp_out", "hook_resid_post"})
              res.hooks.push_back("blocks." + std::to_string(l) + "." + h);
          res.hooks.push_back("logits");
        }
        for (int64_t s = 0; s <= opt.steps; ++s) {
          LmBatch b = data.train_rows(seed, s * rows, rows);
          if (mlm) b = mlm_rows(b, masking, seed, s * rows);
          models::Capture cap;
          cap.logits = true;
          cap.autograd = s < opt.steps;
          for (size_t h = 0; h + 1 < res.hooks.size(); ++h) cap.hooks.insert(res.hooks[h]);
          const auto out = model->forward({b.input_ids, b.position_ids, b.attn_mask, {}}, cap);
          auto& row = per_w[size_t(s)];
          row.resize(res.hooks.size(), 0.0);
          for (size_t h = 0; h < res.hooks.size(); ++h) {
            const at::Tensor& x = res.hooks[h] == "logits" ? out.logits : out.hooks.at(res.hooks[h]);
            row[h] += x.detach().abs().mean().item<double>() / double(opt.seeds);
          }
          const int64_t V = out.logits.size(-1);
          const auto loss = at::cross_entropy_loss(out.logits.reshape({-1, V}), b.targets.reshape({-1}), {},
                                                   at::Reduction::Mean, -100);
          const double lv = loss.item<double>();
          if (!std::isfinite(lv))
            throw RuntimeError("coord-check: loss is not finite at width " + std::to_string(w) + ", step " +
                               std::to_string(s) + " (lower --lr)");
          if (s == opt.steps) {
            last_loss += lv / double(opt.seeds);
            break;
          }
          loss.backward();
          adam.step(t.lr);
          adam.zero_grad();
        }
      }
      loss_p.push_back(last_loss);
      std::fprintf(stderr, "coord-check: %s width %lld done (loss %.4f after %lld steps)\n", pz.c_str(), (long long)w,
                   last_loss, (long long)opt.steps);
    }
    CoordCheckVerdict v;
    v.parametrization = pz;
    double log_growth = 0;
    for (int64_t s = 0; s <= opt.steps; ++s)
      for (size_t h = 0; h < res.hooks.size(); ++h) {
        double lo = INFINITY, hi = 0;
        for (size_t wi = 0; wi < opt.widths.size(); ++wi) {
          lo = std::min(lo, per_p[wi][size_t(s)][h]);
          hi = std::max(hi, per_p[wi][size_t(s)][h]);
        }
        const double ratio = hi < 1e-12 ? 1.0 : lo <= 0 ? INFINITY : hi / lo;  // all zero (a zero readout at init): equal
        if (ratio > v.max_ratio) v.max_ratio = ratio, v.worst_hook = res.hooks[h], v.worst_step = s;
        if (s == opt.steps) {
          const double a = per_p.front()[size_t(s)][h], z = per_p.back()[size_t(s)][h];
          log_growth += (a > 0 && z > 0) ? std::log(z / a) : 0.0;
        }
      }
    v.last_growth = std::exp(log_growth / double(res.hooks.size()));
    v.within = v.max_ratio <= opt.tolerance;
    res.verdicts.push_back(v);
  }
  return res;
}

}  // namespace ps::train

namespace ps::train {

std::string coord_check_report(const CoordCheckResult& r, double tolerance) {
  std::string out;
  char buf[256];
  for (size_t p = 0; p < r.verdicts.size(); ++p) {
    const auto& v = r.verdicts[p];
    out += "== " + v.parametrization + ": mean |x| per coordinate after t Adam steps ==\n";
    std::snprintf(buf, sizeof buf, "%-28s %3s", "hook", "t");
    out += buf;
    for (int64_t w : r.widths) {
      std::snprintf(buf, sizeof buf, " %10s", ("w=" + std::to_string(w)).c_str());
      out += buf;
    }
    out += "   max/min\n";
    for (size_t h = 0; h < r.hooks.size(); ++h)
      for (int64_t s = 0; s <= r.steps; ++s) {
        std::snprintf(buf, sizeof buf, "%-28s %3lld", r.hooks[h].c_str(), (long long)s);
        out += buf;
        double lo = INFINITY, hi = 0;
        for (size_t w = 0; w < r.widths.size(); ++w) {
          const double x = r.mean_abs[p][w][size_t(s)][h];
          lo = std::min(lo, x), hi = std::max(hi, x);
          std::snprintf(buf, sizeof buf, " %10.4g", x);
          out += buf;
        }
        std::snprintf(buf, sizeof buf, "   %7.3f\n", hi < 1e-12 ? 1.0 : hi / lo);
        out += buf;
      }
  }
  for (const auto& v : r.verdicts) {
    std::snprintf(buf, sizeof buf,
                  "%s: largest ratio across widths %.3f (%s, t=%lld); widest/narrowest at t=%lld: x%.2f (geometric mean "
                  "over hooks); %s %.2fx\n",
                  v.parametrization.c_str(), v.max_ratio, v.worst_hook.empty() ? "-" : v.worst_hook.c_str(),
                  (long long)v.worst_step, (long long)r.steps, v.last_growth, v.within ? "within" : "NOT within", tolerance);
    out += buf;
  }
  return out;
}

}  // namespace ps::train
