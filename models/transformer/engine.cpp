#include "models/transformer/engine.h"

#include <limits>
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <c10/core/InferenceMode.h>

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <cstdio>
#include <thread>

#include "models/transformer/masks.h"
#include "models/util/error.h"
#include "models/util/spec.h"

namespace ps::models {

at::ScalarType dtype_from_name(const std::string& name) {
  if (name == "float32" || name == "fp32" || name == "f32") return at::kFloat;
  if (name == "bfloat16" || name == "bf16") return at::kBFloat16;
  if (name == "float16" || name == "fp16" || name == "f16") return at::kHalf;
  throw InputError("--dtype: unknown dtype '" + name + "' (expected auto, float32, bfloat16 or float16)");
}

std::string choose_dtype(const std::string& requested, const std::string& device, int threads, std::string* reason) {
  if (requested != "auto") return requested;
  const at::Device dev = parse_device(device);
  if (dev.is_cuda()) {
    if (reason) *reason = "dtype auto: bfloat16 (CUDA)";
    return "bfloat16";
  }
  at::set_num_threads(threads > 0 ? threads : hardware_threads());
  // A GEMM of the shape extraction runs most ([tokens, d] x [d, 4d]), best of three after a warm-up.
  auto gflops = [](at::ScalarType t) {
    const auto a = at::randn({512, 1024}).to(t), b = at::randn({1024, 1024}).to(t);
    double best = 0;
    for (int i = 0; i < 4; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      at::mm(a, b);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (i > 0) best = std::max(best, 2.0 * 512 * 1024 * 1024 / s / 1e9);
    }
    return best;
  };
  c10::InferenceMode guard;
  const double f32 = gflops(at::kFloat), bf16 = gflops(at::kBFloat16);
  const bool pick = bf16 >= 1.5 * f32;
  if (reason) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "dtype auto: %s (matmul bfloat16 %.0f GFLOP/s vs float32 %.0f, x%.2f)",
                  pick ? "bfloat16" : "float32", bf16, f32, bf16 / f32);
    *reason = buf;
  }
  return pick ? "bfloat16" : "float32";
}

void keep_large_allocations_in_heap() {
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
  });
}

int hardware_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

at::Device parse_device(const std::string& name) {
  try {
    at::Device d(name);
    if (d.is_cuda() && !at::hasCUDA())
      throw InputError("--device " + name + ": this build or machine has no CUDA device");
    return d;
  } catch (const c10::Error&) {
    throw InputError("--device: cannot parse '" + name + "' (expected cpu, cuda or cuda:N)");
  }
}

namespace {

// The forward's subset of the mask grammar (models/util/spec.h): pictures-only modes are refused here.
spec::MaskSpec parse_mask(const std::string& s) {
  spec::MaskSpec m = spec::parse_mask(s, "--mask");
  using K = spec::MaskSpec::Kind;
  if (m.kind != K::Default && m.kind != K::LmInfinite && m.kind != K::Window)
    throw InputError("--mask '" + s + "': not a forward mask (expected default, lm-infinite:G:L[:LIMIT|none] or window:W)");
  if (m.kind == K::Window && m.direction != 0)
    throw InputError("--mask '" + s + "': a forward window follows the model family's direction (give window:W)");
  return m;
}

}  // namespace

void RunOptions::validate() const {
  if (token_budget <= 0) throw InputError("token_budget must be positive (got " + std::to_string(token_budget) + ")");
  parse_mask(mask);  // validate early: a bad setting should fail before any work
}

Engine::Engine(std::shared_ptr<const Transformer> model, EngineOptions options)
    : model_(std::move(model)), options_(std::move(options)), device_(parse_device(options_.device)) {
  if (!model_) throw InputError("Engine: no model");
  keep_large_allocations_in_heap();
  options_.validate();
  if (options_.dtype == "auto")  // already resolved when the model was loaded: run what it is
    options_.dtype = model_->dtype() == at::kBFloat16 ? "bfloat16" : model_->dtype() == at::kHalf ? "float16" : "float32";
  const at::ScalarType want = dtype_from_name(options_.dtype);
  const at::Device have = model_->device();
  const bool same_device =
      have.type() == device_.type() && (!device_.has_index() || !have.has_index() || have.index() == device_.index());
  if (model_->dtype() != want || !same_device)
    throw InputError("Engine: the model is " + std::string(c10::toString(model_->dtype())) + " on " + have.str() +
                     " but the engine was asked for " + options_.dtype + " on " + options_.device +
                     " (load the model with the same device and dtype)");
  at::set_num_threads(options_.threads > 0 ? options_.threads : hardware_threads());
}

std::vector<SequenceStates> Engine::run(const std::vector<std::vector<int32_t>>& sequences, const Capture& capture,
                                        const RunOptions& run_options, RunStats* stats, bool keep_dtype,
                                        const std::function<void(int64_t)>& on_batch) const {
  run_options.validate();
  std::vector<int64_t> lengths;
  lengths.reserve(sequences.size());
  // A learned position table ends at max_positions; rotary models only were trained to that length, and running
  // past it is exactly what long-context studies (vanilla vs LM-Infinite vs RoPE scaling) measure.
  const int64_t max_pos = model_->arch().positional == PositionalKind::Learned ? model_->arch().max_positions : 0;
  for (size_t i = 0; i < sequences.size(); ++i) {
    const auto n = static_cast<int64_t>(sequences[i].size());
    if (n == 0) throw InputError("sequence " + std::to_string(i) + " is empty");
    if (max_pos > 0 && n > max_pos)
      throw InputError("sequence " + std::to_string(i) + " has " + std::to_string(n) +
                       " tokens; the model's limit is " + std::to_string(max_pos));
    lengths.push_back(n);
  }
  // LM-Infinite always runs concatenated: only that path has the banded kernel and the distance cap, and a
  // padded [B,S,S] mask would cost S² per row.
  const bool lm_infinite = parse_mask(run_options.mask).kind == spec::MaskSpec::Kind::LmInfinite;
  const auto batches = plan_batches(lengths, lm_infinite ? Packing::Prepacked : run_options.packing,
                                    run_options.token_budget);
  std::vector<SequenceStates> out(sequences.size());
  for (const auto& batch : batches) {
    const auto t0 = std::chrono::steady_clock::now();
    auto states = run_batch(batch, sequences, capture, run_options.mask, keep_dtype);
    size_t k = 0;
    for (const auto& row : batch.rows)
      for (int s : row.seqs) out[s] = std::move(states[k++]);
    if (stats) {
      stats->sequences += static_cast<int64_t>(k);
      stats->real_tokens += batch.real_tokens();
      stats->slots += batch.slots();
      stats->forwards += 1;
      stats->seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    if (on_batch) on_batch(static_cast<int64_t>(k));
  }
  return out;
}

namespace {

// The mask a spec asks for, over [n,S] segment ids (one sequence per row, or several packed).
at::Tensor mask_for(const spec::MaskSpec& mode, const at::Tensor& seg, bool causal) {
  switch (mode.kind) {
    case spec::MaskSpec::Kind::LmInfinite: return lm_infinite_mask(seg, mode.n_global, mode.local);
    case spec::MaskSpec::Kind::Window: return sliding_window_mask(seg, mode.window, causal);
    default: return segment_mask(seg, causal);
  }
}

// The CPU copy a caller keeps: its own memory, so the batch can be freed.
at::Tensor keep_piece(const at::Tensor& piece, bool keep_dtype) {
  auto kept = piece.to(at::kCPU, keep_dtype ? piece.scalar_type() : at::kFloat).contiguous();
  // A conversion or a device copy already owns its memory: a second copy only cost time (a whole extra
  // pass over every captured layer in a bf16 extraction).
  const bool shares = kept.storage().is_alias_of(piece.storage());
  return shares ? kept.clone() : kept;
}

}  // namespace

std::vector<SequenceStates> Engine::run_concatenated(const PackedRow& row, const std::vector<std::vector<int32_t>>& seqs,
                                                     const Capture& capture, const std::string& mask_spec,
                                                     bool keep_dtype) const {
  auto ids = at::empty({row.used}, at::kLong);
  auto ids_a = ids.accessor<int64_t, 1>();
  PackedInput in;
  for (size_t k = 0; k < row.seqs.size(); ++k) {
    const auto& tokens = seqs[row.seqs[k]];
    for (size_t t = 0; t < tokens.size(); ++t) ids_a[row.starts[k] + int64_t(t)] = tokens[t];
    in.lengths.push_back(static_cast<int64_t>(tokens.size()));
  }
  in.input_ids = ids.to(device_);
  const spec::MaskSpec mode = parse_mask(mask_spec);
  const bool causal = model_->arch().causal;
  if (mode.kind == spec::MaskSpec::Kind::LmInfinite) in.lm_infinite = LmInfinite{mode.n_global, mode.local, mode.limit};
  else in.mask = [mode, causal](const at::Tensor& seg) { return mask_for(mode, seg, causal); };

  ForwardOutput fo;
  {
    std::lock_guard<std::mutex> lock(forward_mu_);
    at::InferenceMode guard;
    fo = model_->forward_packed(in, capture);
  }
  std::vector<SequenceStates> out(row.seqs.size());
  for (size_t k = 0; k < row.seqs.size(); ++k) {
    for (const auto& [name, t] : fo.hooks)
      out[k].hooks.emplace(name, keep_piece(t.slice(0, row.starts[k], row.starts[k] + in.lengths[k]), keep_dtype));
    for (const auto& [name, patterns] : fo.sequence_patterns) out[k].hooks.emplace(name, keep_piece(patterns[k], keep_dtype));
    if (fo.logits.defined())
      out[k].hooks.emplace("logits", keep_piece(fo.logits.slice(0, row.starts[k], row.starts[k] + in.lengths[k]), keep_dtype));
  }
  return out;
}

std::vector<SequenceStates> Engine::run_batch(const PlannedBatch& batch, const std::vector<std::vector<int32_t>>& seqs,
                                              const Capture& capture, const std::string& mask_spec,
                                              bool keep_dtype) const {
  if (batch.concatenated) return run_concatenated(batch.rows.at(0), seqs, capture, mask_spec, keep_dtype);
  const int64_t R = static_cast<int64_t>(batch.rows.size()), S = batch.row_len;
  const auto& arch = model_->arch();
  const int32_t pad = arch.pad_token_id >= 0 ? arch.pad_token_id : 0;
  auto ids = at::full({R, S}, pad, at::kLong);
  auto pos = at::zeros({R, S}, at::kLong);
  auto seg = at::full({R, S}, -1, at::kLong);
  auto ids_a = ids.accessor<int64_t, 2>();
  auto pos_a = pos.accessor<int64_t, 2>();
  auto seg_a = seg.accessor<int64_t, 2>();
  for (int64_t r = 0; r < R; ++r) {
    const auto& row = batch.rows[r];
    for (size_t k = 0; k < row.seqs.size(); ++k) {
      const auto& tokens = seqs[row.seqs[k]];
      const int64_t start = row.starts[k];
      for (size_t t = 0; t < tokens.size(); ++t) {
        ids_a[r][start + t] = tokens[t];
        pos_a[r][start + t] = static_cast<int64_t>(t);  // positions restart for each packed sequence
        seg_a[r][start + t] = static_cast<int64_t>(k);
      }
    }
  }

  const at::Tensor mask = mask_for(parse_mask(mask_spec), seg, arch.causal);

  ForwardInput in;
  in.input_ids = ids.to(device_);
  in.position_ids = pos.to(device_);
  in.attn_mask = mask.to(device_);

  ForwardOutput fo;
  {
    std::lock_guard<std::mutex> lock(forward_mu_);
    at::InferenceMode guard;
    fo = model_->forward(in, capture);
  }

  std::vector<SequenceStates> out;
  for (const auto& row : batch.rows) {
    for (size_t k = 0; k < row.seqs.size(); ++k) {
      const int64_t b = &row - batch.rows.data(), start = row.starts[k];
      const int64_t len = static_cast<int64_t>(seqs[row.seqs[k]].size());
      const int64_t r0 = capture.pattern_rows > 0 ? std::clamp<int64_t>(capture.pattern_first_row, 0, len) : 0;
      const int64_t r1 = capture.pattern_rows > 0 ? std::clamp<int64_t>(capture.pattern_first_row + capture.pattern_rows, r0, len) : len;
      SequenceStates st;
      for (const auto& [name, t] : fo.hooks) {
        at::Tensor piece = t.dim() == 4  // attention pattern [B, H, q, k], the rows asked for
                               ? t[b].slice(1, start + r0, start + r1).slice(2, start, start + len)
                               : t[b].slice(0, start, start + len);
        st.hooks.emplace(name, keep_piece(piece, keep_dtype));
      }
      if (fo.logits.defined()) st.hooks.emplace("logits", keep_piece(fo.logits[b].slice(0, start, start + len), keep_dtype));
      out.push_back(std::move(st));
    }
  }
  return out;
}

}  // namespace ps::models
