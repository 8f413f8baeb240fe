// The training loop: setup (tokenize, pack, init or resume), bf16 decision, steps, evaluations, checkpoints.
#include "models/train/trainer.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "models/config/arch.h"
#include "models/config/weights_map.h"
#include "models/tokenizer/tokenizer.h"
#include "models/train/evaluate.h"
#include "models/train/optim.h"
#include "models/train/run_dir.h"
#include "models/train/sparsity.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "models/util/sha256.h"

namespace ps::train {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::vector<std::vector<int32_t>> tokenize(const tok::Tokenizer& tok, const std::vector<std::string>& docs, Sha256& hash) {
  std::vector<std::vector<int32_t>> out;
  out.reserve(docs.size());
  for (const auto& d : docs) {
    hash.update(d.data(), d.size());
    hash.update("\0", 1);
    out.push_back(tok.encode(d, false).ids);
  }
  return out;
}

// The settings a resumed run must share with the run that wrote the checkpoint.
nlohmann::json run_identity(const TrainOptions& o, const std::string& config, const std::string& tok_text,
                            const std::string& docs_hash, double min_lr) {
  nlohmann::json id = {{"config_sha256", sha256_hex(config)}, {"tokenizer_sha256", sha256_hex(tok_text)},
          {"documents_sha256", docs_hash},        {"seed", o.seed},
          {"steps", o.steps},                     {"batch_tokens", o.batch_tokens},
          {"lr", o.lr},                           {"min_lr", min_lr},
          {"warmup", o.warmup},                   {"weight_decay", o.weight_decay},
          {"clip", o.clip},                       {"beta1", o.beta1},
          {"beta2", o.beta2}};
  // Added with the masked LM and muP; a causal SP run keeps the identity it always had.
  if (o.objective != "clm") id["objective"] = o.objective, id["mask_prob"] = o.mask_prob;
  if (o.shape.parametrization != "sp") id["parametrization"] = o.shape.parametrization, id["base_width"] = o.shape.base_width;
  if (o.sparsity >= 0) id["sparsity"] = o.sparsity, id["sparse_until"] = o.sparse_until;
  if (!o.init_from.empty()) id["init_from"] = o.init_from;
  if (o.init_stack) id["init_stack"] = true;
  return id;
}

// --init-from: continue training an existing model (an exported HF directory or a step checkpoint) under a
// new schedule. Its tensors must be exactly the run's (names and shapes): the architecture flags describe the
// model being continued, so the checkpoints and the export stay consistent with config.json.
// "blocks.{i}.rest" -> "blocks.{i mod source_blocks}.rest"; other keys unchanged.
std::string stacked_source_key(const std::string& key, int64_t source_blocks) {
  static const std::string prefix = "blocks.";
  if (key.rfind(prefix, 0) != 0) return key;
  const auto dot = key.find('.', prefix.size());
  const int64_t block = std::stoll(key.substr(prefix.size(), dot - prefix.size()));
  return prefix + std::to_string(block % source_blocks) + key.substr(dot);
}

std::shared_ptr<models::Transformer> load_init_weights(const std::string& dir, bool stack,
                                                       const std::shared_ptr<models::Transformer>& fresh) {
  auto loaded = models::Transformer::load(dir, at::kFloat);
  const auto& want = fresh->parameters();
  const auto& got = loaded->parameters();
  const int64_t have_blocks = loaded->arch().n_layers, want_blocks = fresh->arch().n_layers;
  if (stack) {
    if (want_blocks % have_blocks != 0)
      throw InputError(dir + ": --init-stack: --layers " + std::to_string(want_blocks) + " is not a multiple of the model's " +
                       std::to_string(have_blocks) + " blocks");
    std::map<std::string, at::Tensor> stacked;
    std::set<std::string> used;
    for (const auto& [k, p] : want) {
      const auto it = got.find(stacked_source_key(k, have_blocks));
      if (it == got.end() || it->second.sizes() != p.sizes())
        throw InputError(dir + ": --init-stack: the model has no tensor '" + stacked_source_key(k, have_blocks) +
                         "' of shape " + c10::str(p.sizes()) + " (the flags other than --layers must describe it)");
      stacked[k] = it->second.clone();  // a copy per block: the repeated blocks train apart, never tied
      used.insert(it->first);
    }
    if (used.size() != got.size())
      throw InputError(dir + ": --init-stack: the model has " + std::to_string(got.size() - used.size()) +
                       " tensors this run's architecture has no place for");
    std::fprintf(stderr, "initialised from %s, its %lld blocks stacked %lld times\n", dir.c_str(), (long long)have_blocks,
                 (long long)(want_blocks / have_blocks));
    return fresh->with_changes(fresh->arch(), stacked);
  }
  for (const auto& [k, p] : want) {
    const auto it = got.find(k);
    if (it == got.end()) throw InputError(dir + ": --init-from: the model has no tensor '" + k + "' of this run's architecture");
    if (it->second.sizes() != p.sizes())
      throw InputError(dir + ": --init-from: tensor '" + k + "' has shape " + c10::str(it->second.sizes()) + ", this run's is " +
                       c10::str(p.sizes()) + " (the architecture flags must describe the model being continued)");
  }
  if (got.size() != want.size())
    throw InputError(dir + ": --init-from: the model has " + std::to_string(got.size()) + " tensors, this run's architecture " +
                     std::to_string(want.size()));
  std::fprintf(stderr, "initialised from %s (%zu tensors)\n", dir.c_str(), got.size());
  return loaded;
}


std::string fmt(const char* f, double a) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, a);
  return buf;
}

}  // namespace

LmShape resolve_shape(const TrainOptions& opt, const tok::Tokenizer& tok) {
  LmShape shape = opt.shape;
  if (opt.objective != "clm" && opt.objective != "mlm") throw InputError("--objective: expected clm or mlm, got '" + opt.objective + "'");
  if (shape.arch.empty()) shape.arch = opt.objective == "mlm" ? "roberta" : "gpt2";
  if (opt.objective == "mlm" && shape.arch != "roberta")
    throw InputError("--objective mlm: needs --arch roberta (a bidirectional encoder), got --arch " + shape.arch);
  if (opt.objective == "clm" && shape.arch == "roberta")
    throw InputError("--arch roberta: is a masked-LM encoder; use --objective mlm");
  const std::string eos_token = !opt.eos_token.empty() ? opt.eos_token : opt.objective == "mlm" ? "</s>" : "<|endoftext|>";
  const int32_t eos = tok.token_to_id(eos_token);
  if (eos < 0) throw InputError(opt.tokenizer_path + ": no token '" + eos_token + "' (the document separator; --eos-token)");
  shape.vocab_size = tok.vocab_size();
  shape.eos_id = eos;
  if (opt.objective == "mlm") {
    const int32_t pad = tok.token_to_id(opt.pad_token);
    if (pad < 0)
      throw InputError(opt.tokenizer_path + ": no token '" + opt.pad_token +
                       "' (--objective mlm: RoBERTa numbers positions from the padding id; train the tokenizer with "
                       "--special-tokens '<s>,<pad>,</s>,<unk>,<mask>')");
    shape.pad_id = pad;
    shape.bos_id = tok.token_to_id(opt.bos_token);
  }
  if (shape.parametrization == "mup") shape.tie_embeddings = false;
  return shape;
}

MlmMasking mlm_masking(const TrainOptions& opt, const std::string& tokenizer_json, int64_t vocab_size) {
  const auto tok = tok::Tokenizer::from_json(tokenizer_json, opt.tokenizer_path);
  MlmMasking m;
  m.mask_id = tok.token_to_id(opt.mask_token);
  if (m.mask_id < 0)
    throw InputError(opt.tokenizer_path + ": no token '" + opt.mask_token +
                     "' (--objective mlm needs a mask token; train the tokenizer with --special-tokens "
                     "'<s>,<pad>,</s>,<unk>,<mask>')");
  if (!(opt.mask_prob > 0 && opt.mask_prob < 1)) throw InputError("--mask-prob: must be in (0, 1)");
  m.vocab_size = vocab_size;
  m.prob = opt.mask_prob;
  // Special added tokens (the separator, <s>, <pad>, <mask>, ...) are never masked, as HF's collator does.
  const auto j = nlohmann::json::parse(tokenizer_json, nullptr, false);
  if (j.is_object() && j.contains("added_tokens") && j["added_tokens"].is_array())
    for (const auto& t : j["added_tokens"])
      if (t.is_object() && t.value("special", false) && t.contains("id") && t["id"].is_number_integer())
        m.never_mask.push_back(t["id"].get<int32_t>());
  for (const auto& name : {opt.eos_token.empty() ? std::string("</s>") : opt.eos_token, opt.pad_token, opt.mask_token})
    if (tok.token_to_id(name) >= 0) m.never_mask.push_back(tok.token_to_id(name));
  return m;
}

std::shared_ptr<models::Transformer> init_model(const LmShape& shape, const models::ArchSpec& arch, uint64_t seed) {
  auto base = models::Transformer::random_init(arch, seed);
  std::map<std::string, at::Tensor> params;
  for (const auto& [k, t] : base->parameters()) params[k] = t.detach().clone();
  if (arch.family == models::Family::BERT) {
    // random_init leaves out the (optional) masked-LM head: draw it from its own stream.
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed ^ 0x6c6d5f68656164ull);  // "lm_head"
    for (const auto& spec : models::expected_weights(arch)) {
      if (spec.key.rfind("mlm.", 0) != 0 && spec.key != "unembed.weight") continue;
      if (spec.key == "unembed.weight" && arch.tie_word_embeddings) continue;
      auto t = at::empty(spec.hf_shape, at::kFloat);
      if (spec.init == models::Init::Ones) t.fill_(1.0);
      else if (spec.init == models::Init::Zeros) t.zero_();
      else t.normal_(0.0, arch.initializer_range, gen);
      params[spec.key] = t;
    }
  }
  apply_init_scales(params, param_scales(shape, arch, params));
  return models::Transformer::from_weights(arch, hf_named(arch, params), at::kFloat, at::kCPU, base->source());
}

TrainResult train_lm(const TrainOptions& opt, const std::vector<std::string>& train_docs,
                     const std::vector<std::string>& valid_docs, Progress* progress) {
  namespace fs = std::filesystem;
  if (opt.out_dir.empty()) throw InputError("train: --out is required");
  if (opt.steps < 1) throw InputError("--steps: must be positive");
  if (opt.warmup < 0 || opt.lr <= 0) throw InputError("--lr/--warmup: lr must be positive and warmup >= 0");
  if (opt.bf16 != "auto" && opt.bf16 != "on" && opt.bf16 != "off") throw InputError("--bf16: expected auto, on or off");
  if (opt.sparse_until >= 0 && opt.sparsity < 0) throw InputError("--sparse-until: needs --sparsity");
  if (opt.sparsity >= 1) throw InputError("--sparsity: must lie in [0, 1)");
  if (opt.sparse_until == 0 || opt.sparse_until > opt.steps)
    throw InputError("--sparse-until: must lie in 1..--steps (" + std::to_string(opt.steps) + ")");
  const int64_t ctx = opt.shape.ctx;
  if (ctx < 2 || opt.batch_tokens < ctx)
    throw InputError("--batch-tokens: must be at least --ctx (" + std::to_string(ctx) + ")");
  const int64_t rows_per_step = opt.batch_tokens / ctx;
  const int threads = opt.threads > 0 ? opt.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);

  const std::string tok_text = read_file(opt.tokenizer_path);
  const auto tok = tok::Tokenizer::from_json(tok_text, opt.tokenizer_path);
  const LmShape shape = resolve_shape(opt, tok);
  const int32_t eos = int32_t(shape.eos_id);
  const bool mlm = opt.objective == "mlm";
  const std::string config = lm_config_json(shape);
  const models::ArchSpec arch = models::parse_arch(config, "config.json");
  const MlmMasking masking = mlm ? mlm_masking(opt, tok_text, arch.vocab_size) : MlmMasking{};

  auto t_tok = Clock::now();
  Sha256 hash;
  PackedData train(tokenize(tok, train_docs, hash), eos, ctx);
  hash.update("\1", 1);
  PackedData valid(tokenize(tok, valid_docs, hash), eos, ctx);
  const std::string docs_hash = hash.hex_digest();
  std::fprintf(stderr, "tokenized %lld train documents (%lld tokens with separators) and %lld valid (%lld) in %.1f s\n",
               (long long)train.documents(), (long long)train.tokens_per_epoch(), (long long)valid.documents(),
               (long long)valid.tokens_per_epoch(), since(t_tok));
  if (train.rows_per_epoch() < 1) throw InputError("train: the training documents hold fewer tokens than one row");
  if (valid.eval_rows() < 1) throw InputError("train: no validation documents (corpus split 'valid')");
  if (!opt.valid_languages.empty() && opt.valid_languages.size() != valid_docs.size())
    throw InputError("train: " + std::to_string(opt.valid_languages.size()) + " validation languages for " +
                     std::to_string(valid_docs.size()) + " validation documents");
  // Rows [first, first + n) of the training stream, masked for mlm (a function of the row: resume is exact).
  auto train_batch = [&](int64_t first, int64_t n) {
    LmBatch b = train.train_rows(opt.seed, first, n);
    return mlm ? mlm_rows(b, masking, opt.seed, first) : b;
  };
  const auto unigram = unigram_nll(train.token_counts(arch.vocab_size));

  const double min_lr = opt.min_lr >= 0 ? opt.min_lr : opt.lr / 10;
  const nlohmann::json identity = run_identity(opt, config, tok_text, docs_hash, min_lr);
  std::error_code ec;
  fs::create_directories(opt.out_dir, ec);
  if (ec) throw RuntimeError(opt.out_dir + ": cannot create directory: " + ec.message());

  TrainResult res;
  CsvLog train_log("step,lr,loss,tokens,seconds,grad_norm");
  CsvLog valid_log("step,tokens,valid_loss,valid_ppl,unigram_ppl,valid_tokens");
  std::shared_ptr<models::Transformer> model;
  nlohmann::json resumed;
  const auto ckpts = list_checkpoints(opt.out_dir);
  if (!ckpts.empty()) {
    const std::string dir = opt.out_dir + "/" + step_dir_name(ckpts.back());
    resumed = nlohmann::json::parse(read_file(dir + "/trainer_state.json"));
    if (resumed.value("run", nlohmann::json()) != identity) {
      std::string diff;
      for (const auto& [k, v] : identity.items())
        if (!resumed["run"].contains(k) || resumed["run"][k] != v) diff += (diff.empty() ? "" : ", ") + k;
      throw InputError(dir + ": this checkpoint belongs to a different run (differs in: " + diff +
                       "); use another --out or the original settings");
    }
    model = models::Transformer::load(dir, at::kFloat);
    res.start_step = resumed.at("step").get<int64_t>();
    res.tokens = resumed.at("tokens").get<int64_t>();
    res.seconds = resumed.at("seconds").get<double>();
    train_log.load(read_file(dir + "/train_log.csv"), dir + "/train_log.csv");
    valid_log.load(read_file(dir + "/valid_log.csv"), dir + "/valid_log.csv");
    res.last_checkpoint = dir;
    const auto& v = resumed.at("valid");
    res.valid_loss = v.at("loss"), res.valid_ppl = v.at("ppl"), res.unigram_ppl = v.at("unigram_ppl");
    res.valid_tokens = v.at("tokens");
    std::fprintf(stderr, "resuming from %s (step %lld, %lld tokens)\n", dir.c_str(), (long long)res.start_step,
                 (long long)res.tokens);
  } else if (!opt.init_from.empty()) {
    model = load_init_weights(opt.init_from, opt.init_stack, init_model(shape, arch, opt.seed));
  } else {
    model = init_model(shape, arch, opt.seed);
  }
  const auto& params = model->parameters();
  for (const auto& [k, p] : params) p.requires_grad_(true);
  res.parameters = model->num_parameters();
  std::map<std::string, double> lr_scales;
  for (const auto& [k, sc] : param_scales(shape, arch, params)) lr_scales[k] = sc.lr;
  AdamW adam(params, AdamWOptions{opt.beta1, opt.beta2, 1e-8, opt.weight_decay}, lr_scales);
  if (!resumed.is_null())
    adam.load_state(read_safetensors(res.last_checkpoint + "/optimizer.safetensors"),
                    resumed.at("optimizer_steps").get<int64_t>(), res.last_checkpoint + "/optimizer.safetensors");
  const Schedule sched{opt.lr, min_lr, opt.warmup, opt.steps};
  // SPDF: updates [0, sparse_until) are sparse. The mask comes from the seed at init, from the checkpoint on resume.
  const int64_t sparse_until = opt.sparsity < 0 ? 0 : opt.sparse_until < 0 ? opt.steps : opt.sparse_until;
  StaticMask mask;
  if (res.start_step < sparse_until) {
    mask = resumed.is_null() ? StaticMask::draw(params, opt.sparsity, opt.seed)
                             : StaticMask::load(res.last_checkpoint + "/" + kSparsityMaskFile, params);
    mask.apply_to(params);
    mask.mask_moments(adam.state());
    std::fprintf(stderr, "SPDF: static random mask on %zu attention/MLP matrices, %lld of %lld weights (%.2f%%) held at 0 "
                 "until step %lld, dense after\n", mask.masks().size(), (long long)mask.pruned(),
                 (long long)mask.masked_numel(), 100.0 * double(mask.pruned()) / double(mask.masked_numel()),
                 (long long)sparse_until);
  }
  if (shape.parametrization == "mup")
    std::fprintf(stderr, "muP: base width %lld (hidden weights: init x %.3g, lr x %.3g; readout zero-init, lr x %.3g; "
                 "attention sqrt(%lld)/head_dim)\n", (long long)shape.base_width,
                 std::sqrt(double(shape.base_width) / double(arch.d_model)), double(shape.base_width) / double(arch.d_model),
                 double(shape.base_width) / double(arch.d_model), (long long)(shape.base_width / shape.heads));
  std::fprintf(stderr, "model: %s (%s), %lld layers, d_model %lld, %lld heads, vocab %lld, ctx %lld: %lld parameters; "
               "%lld rows x %lld tokens per step, %lld rows per epoch\n",
               shape.arch.c_str(), opt.objective.c_str(), (long long)arch.n_layers, (long long)arch.d_model, (long long)arch.n_heads,
               (long long)arch.vocab_size, (long long)ctx, (long long)res.parameters, (long long)rows_per_step,
               (long long)ctx, (long long)train.rows_per_epoch());

  auto run_step = [&](const LmBatch& b, bool bf16) {
    at::Tensor loss;
    {
      AutocastBf16 ac(bf16);
      loss = lm_loss(*model, b, true);
    }
    loss.backward();
    return loss.item<double>();
  };
  // bf16 autocast only pays off with native bf16 matmul; "auto" measures both on a few rows first
  // (gradients are discarded, so the run is unchanged).
  res.bf16 = opt.bf16 == "on";
  if (opt.bf16 == "auto" && res.start_step < opt.steps) {
    // Two rows, one warm-up and one timed step each: emulated bf16 can be >10x slower, so keep it short.
    const LmBatch probe = train_batch(0, std::min<int64_t>(rows_per_step, 2));
    double rate[2];
    for (int bf = 0; bf < 2; ++bf) {
      run_step(probe, bf);
      const auto t = Clock::now();
      run_step(probe, bf);
      rate[bf] = double(probe.input_ids.numel()) / since(t);
      adam.zero_grad();
    }
    res.bf16 = rate[1] > 1.05 * rate[0];
    std::fprintf(stderr, "bf16 autocast check: float32 %.0f tokens/s, bfloat16 %.0f tokens/s (x%.2f) -> %s\n", rate[0],
                 rate[1], rate[1] / rate[0], res.bf16 ? "bf16 autocast" : "float32");
  }

  const int64_t eval_every = opt.eval_every > 0 ? opt.eval_every : std::max<int64_t>(1, opt.steps / 20);
  std::set<int64_t> keep(opt.keep_steps.begin(), opt.keep_steps.end());
  keep.insert(opt.steps);
  auto write_logs = [&] {
    write_file_atomic(opt.out_dir + "/train_log.csv", train_log.text());
    write_file_atomic(opt.out_dir + "/valid_log.csv", valid_log.text());
  };
  auto do_eval = [&](int64_t step, int64_t max_tokens, double train_loss) {
    const auto e = evaluate(*model, valid, unigram, max_tokens, rows_per_step, res.bf16,
                            mlm ? &masking : nullptr, kValidMaskSeed);
    res.valid_loss = e.loss, res.valid_ppl = e.ppl(), res.unigram_ppl = e.unigram_ppl(), res.valid_tokens = e.tokens;
    valid_log.append(std::to_string(step) + "," + std::to_string(res.tokens) + "," + fmt("%.5f", e.loss) + "," +
                     fmt("%.3f", e.ppl()) + "," + fmt("%.3f", e.unigram_ppl()) + "," + std::to_string(e.tokens));
    write_logs();
    std::fprintf(stderr, "%sstep %lld/%lld: train loss %s | valid loss %.4f ppl %.2f (unigram %.2f) on %lld tokens\n",
                 isatty(2) ? "\n" : "", (long long)step, (long long)opt.steps,
                 train_loss < 0 ? "-" : fmt("%.4f", train_loss).c_str(), e.loss, e.ppl(), e.unigram_ppl(),
                 (long long)e.tokens);
  };
  auto checkpoint = [&](int64_t step, double seconds) {
    CheckpointContents c;
    c.config_json = config, c.tokenizer_json = tok_text, c.arch = &arch, c.params = &params;
    c.optimizer = adam.state();
    c.state = {{"step", step},   {"tokens", res.tokens}, {"seconds", seconds}, {"optimizer_steps", adam.steps()},
               {"run", identity}, {"bf16", res.bf16},     {"parameters", res.parameters},
               {"valid", {{"loss", res.valid_loss}, {"ppl", res.valid_ppl}, {"unigram_ppl", res.unigram_ppl},
                          {"tokens", res.valid_tokens}}},
               {"data", {{"rows_per_step", rows_per_step}, {"next_row", step * rows_per_step},
                         {"rows_per_epoch", train.rows_per_epoch()}}}};
    c.train_log = train_log.text(), c.valid_log = valid_log.text();
    if (opt.sparsity >= 0)
      c.state["sparsity"] = {{"sparsity", opt.sparsity}, {"sparse_until", sparse_until}, {"masked", !mask.empty()},
                             {"mask_file", mask.empty() ? "" : kSparsityMaskFile}};
    if (!mask.empty()) c.write_extra = [&](const std::string& d) { mask.save(d + "/" + kSparsityMaskFile); };
    res.last_checkpoint = save_checkpoint(opt.out_dir, step, c);
    prune_checkpoints(opt.out_dir, std::vector<int64_t>(keep.begin(), keep.end()), opt.keep_last);
    write_logs();
  };

  if (res.start_step == 0 && valid_log.rows() == 0) do_eval(0, opt.eval_tokens, -1);
  if (progress) {
    progress->set_total(opt.steps - res.start_step);
    progress->set_extra_unit("tokens");
  }
  const auto t0 = Clock::now();
  const double seconds_before = res.seconds;
  int64_t ran = 0;
  res.end_step = res.start_step;
  for (int64_t s = res.start_step; s < opt.steps; ++s) {
    if (progress && progress->cancelled()) {
      checkpoint(s, seconds_before + since(t0));
      break;
    }
    const LmBatch b = train_batch(s * rows_per_step, rows_per_step);
    const double lr = sched.at(s);
    const double loss = run_step(b, res.bf16);
    if (!std::isfinite(loss)) throw RuntimeError("train: loss is " + fmt("%f", loss) + " at step " + std::to_string(s + 1) + " (lower --lr)");
    const bool sparse_now = !mask.empty();
    if (sparse_now) mask.mask_grads(params);  // before clipping: the norm is that of the trained weights
    const double gnorm = clip_grad_norm(params, opt.clip);
    adam.step(lr);
    adam.zero_grad();
    if (sparse_now) {
      mask.mask_moments(adam.state());
      mask.apply_to(params);
      if (s + 1 == sparse_until) {
        mask = StaticMask();
        if (sparse_until < opt.steps)
          std::fprintf(stderr, "%sSPDF: step %lld: mask removed, the pruned weights (at 0) train from here\n",
                       isatty(2) ? "\n" : "", (long long)sparse_until);
      }
    }
    res.tokens += b.input_ids.numel();  // tokens processed (clm: all targets; mlm: 15% of them are)
    const int64_t done = s + 1;
    res.end_step = done;
    res.seconds = seconds_before + since(t0);
    train_log.append(std::to_string(done) + "," + fmt("%.6g", lr) + "," + fmt("%.5f", loss) + "," +
                     std::to_string(res.tokens) + "," + fmt("%.2f", res.seconds) + "," + fmt("%.4f", gnorm));
    if (progress) progress->advance(1, b.input_ids.numel());
    if (done == opt.steps) {
      do_eval(done, 0, loss);  // the final evaluation scores all of the validation split
      if (!opt.valid_languages.empty()) {
        std::map<std::string, std::vector<std::vector<int32_t>>> by_lang;
        for (size_t i = 0; i < valid_docs.size(); ++i)
          by_lang[opt.valid_languages[i]].push_back(tok.encode(valid_docs[i], false).ids);
        std::string csv = "language,documents,valid_tokens,valid_loss,valid_ppl,unigram_ppl\n";
        for (auto& [lang, docs] : by_lang) {
          LanguageEval le;
          le.language = lang;
          le.documents = int64_t(docs.size());
          PackedData pd(std::move(docs), eos, ctx);
          if (pd.eval_rows() < 1) continue;
          const auto e = evaluate(*model, pd, unigram, 0, rows_per_step, res.bf16, mlm ? &masking : nullptr, kValidMaskSeed);
          le.tokens = e.tokens, le.loss = e.loss, le.ppl = e.ppl(), le.unigram_ppl = e.unigram_ppl();
          res.by_language.push_back(le);
          csv += lang + "," + std::to_string(le.documents) + "," + std::to_string(le.tokens) + "," + fmt("%.5f", le.loss) +
                 "," + fmt("%.3f", le.ppl) + "," + fmt("%.3f", le.unigram_ppl) + "\n";
          std::fprintf(stderr, "  %-12s valid loss %.4f ppl %.2f (unigram %.2f) on %lld tokens of %lld documents\n",
                       lang.c_str(), le.loss, le.ppl, le.unigram_ppl, (long long)le.tokens, (long long)le.documents);
        }
        write_file_atomic(opt.out_dir + "/valid_by_language.csv", csv);
      }
      checkpoint(done, res.seconds);
      if (!opt.valid_languages.empty())
        write_file_atomic(res.last_checkpoint + "/valid_by_language.csv", read_file(opt.out_dir + "/valid_by_language.csv"));
      res.complete = true;
      break;
    }
    if (done % eval_every == 0) do_eval(done, opt.eval_tokens, loss);
    const bool saved = keep.count(done) || (opt.checkpoint_every > 0 && done % opt.checkpoint_every == 0);
    if (saved) checkpoint(done, res.seconds);
    if (opt.stop_after > 0 && ++ran >= opt.stop_after) {
      if (opt.checkpoint_on_stop && !saved) checkpoint(done, res.seconds);
      break;
    }
  }
  if (res.start_step >= opt.steps) res.complete = true;
  if (opt.sparsity >= 0 && res.complete) {
    res.flops = flops_report(training_flops_per_token(arch, ctx, params), opt.sparsity, sparse_until, opt.steps,
                             rows_per_step * ctx);
    write_file_atomic(opt.out_dir + "/flops.json", res.flops.dump(2) + "\n");
    std::fprintf(stderr, "SPDF training FLOPs: %.4g vs %.4g for the dense twin: %.1f%% of the sparse matmuls' and %.1f%% of "
                 "all training FLOPs saved (counted, not timed)\n", res.flops["flops_this_run"].get<double>(),
                 res.flops["flops_dense_twin"].get<double>(), 100 * res.flops["saved_share_of_sparse_matmuls"].get<double>(),
                 100 * res.flops["saved_share_of_total"].get<double>());
  }
  if (progress) progress->finish();
  for (const auto& [k, p] : params) p.requires_grad_(false);
  res.model = model;
  return res;
}

}  // namespace ps::train
