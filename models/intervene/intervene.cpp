#include "models/intervene/intervene.h"

#include <ATen/ATen.h>
#include <unistd.h>

#include <cstring>
#include <tuple>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "models/config/arch.h"
#include "models/config/rope_scaling.h"
#include "models/config/weights_map.h"
#include "models/intervene/decompose.h"
#include "models/intervene/prune.h"
#include "models/safetensors/safetensors.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "models/util/sha256.h"

namespace ps::models {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;  // keeps config.json's key order, so a diff shows only what changed

namespace {

// Files of a HF directory that describe the tokenizer or generation; copied as they are (or with limits raised).
constexpr const char* kCopied[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                   "added_tokens.json", "vocab.json", "merges.txt", "vocab.txt",
                                   "tokenizer.model", "spiece.model", "generation_config.json"};

at::ScalarType torch_dtype(st::DType d, const std::string& name) {
  switch (d) {
    case st::DType::F32: return at::kFloat;
    case st::DType::F16: return at::kHalf;
    case st::DType::BF16: return at::kBFloat16;
    case st::DType::F64: return at::kDouble;
    default: throw InputError("tensor '" + name + "': position table is not floating point");
  }
}

at::Tensor to_tensor(const st::TensorInfo& t) {
  auto out = at::empty(t.shape, at::TensorOptions().dtype(torch_dtype(t.dtype, t.name)));
  std::memcpy(out.data_ptr(), t.data, t.nbytes);  // the mapped data need not be aligned
  return out;
}

st::TensorData from_tensor(const std::string& name, st::DType dtype, const at::Tensor& t) {
  const auto c = t.contiguous();
  st::TensorData d{name, dtype, c.sizes().vec(), std::string(size_t(c.nbytes()), '\0')};
  std::memcpy(d.bytes.data(), c.data_ptr(), d.bytes.size());
  return d;
}

bool non_empty_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec) && !fs::is_empty(p, ec);
}

// The table's checkpoint name (any prefix: transformer., bert., roberta., none).
std::string position_tensor_name(const ArchSpec& arch, const std::vector<std::string>& names, const std::string& src) {
  for (const auto& r : resolve_weights(arch, names, src))
    if (r.spec.key == "embed.positions") return r.name;
  throw InputError(src + ": no position table found");
}

}  // namespace

InterveneResult intervene(const InterveneOptions& o) {
  if (!o.stretch && o.rope_scaling.empty() && !o.quantize && !o.prune && !o.decompose)
    throw InputError("intervene: nothing to do (give --stretch-positions, --rope-scaling, --prune, --decompose and/or --quantize)");
  if (o.out_dir.empty()) throw InputError("intervene: --out is required");
  const fs::path src = fs::absolute(o.model_dir).lexically_normal();
  fs::path out = fs::absolute(o.out_dir).lexically_normal();
  if (!out.has_filename()) out = out.parent_path();  // "DIR/" is DIR: its temp and ablation siblings go beside it
  std::error_code ec;
  if (fs::equivalent(src, out, ec) || src == out)
    throw InputError("--out " + o.out_dir + ": must differ from the source model directory");
  if (fs::exists(out, ec) && !fs::is_directory(out, ec)) throw InputError("--out " + o.out_dir + ": exists and is not a directory");
  if (non_empty_dir(out) && !o.force)
    throw InputError("--out " + o.out_dir + ": exists and is not empty (use --force to replace it)");
  if (o.decompose)
    for (const char* suffix : {kLowrankSuffix, kMinusLowrankSuffix})
      if (non_empty_dir(out.string() + suffix) && !o.force)
        throw InputError("--decompose: " + out.string() + suffix + " (an ablation directory) exists and is not empty (use --force to replace it)");

  const std::string config_path = (src / "config.json").string();
  const std::string config_text = read_file(config_path);
  const ArchSpec arch = parse_arch(config_text, config_path);
  ojson config = ojson::parse(config_text);
  ojson record = {{"format", 1}, {"tool", "probescope intervene"}};
  ojson source = {{"model_dir", src.string()}, {"files", ojson::object()}};
  source["files"]["config.json"] = sha256_hex(config_text);
  ojson steps = ojson::array();

  // Weights: every tensor copied byte for byte except the ones an intervention replaces.
  const st::Checkpoint ck(src.string());
  for (const auto& f : st::checkpoint_files(src.string()))
    source["files"][fs::path(f).filename().string()] = sha256_file(f);
  std::map<std::string, std::string> metadata{{"format", "pt"}};
  for (const auto& shard : ck.shards())
    for (const auto& [k, v] : shard.metadata()) metadata[k] = v;
  std::map<std::string, st::TensorData> tensors;
  for (const auto& name : ck.names()) {
    const auto& t = ck.at(name);
    tensors[name] = {name, t.dtype, t.shape, std::string(reinterpret_cast<const char*>(t.data), t.nbytes)};
  }

  int64_t new_max_positions = arch.max_positions;
  if (o.stretch) {
    if (arch.positional != PositionalKind::Learned)
      throw InputError("--stretch-positions: " + o.model_dir + " is a " + family_name(arch.family) +
                       " model with rotary positions; stretching needs a learned position table (use --rope-scaling)");
    const std::string name = position_tensor_name(arch, ck.names(), ck.dir());
    const auto& info = ck.at(name);
    const at::Tensor before = to_tensor(info);
    const int64_t offset = arch.position_offset;
    if (before.size(0) != arch.max_position_embeddings)
      throw InputError(ck.dir() + ": tensor '" + name + "' has " + std::to_string(before.size(0)) +
                       " rows but config.json says " + std::to_string(arch.max_position_embeddings));
    stretched_rows(before.size(0) - offset, *o.stretch);  // validates keep/factor against this table first
    const at::Tensor after = stretch_position_table(before, offset, *o.stretch);
    tensors[name] = from_tensor(name, info.dtype, after);
    const int64_t rows = after.size(0);
    if (arch.family == Family::GPT2) {
      config["n_positions"] = rows;
      if (config.contains("n_ctx")) config["n_ctx"] = rows;
    } else {
      config["max_position_embeddings"] = rows;
    }
    new_max_positions = rows - offset;
    steps.push_back({{"kind", "stretch_positions"},
                     {"method", "Long-CLIP knowledge-preserved interpolation (arXiv 2403.15378)"},
                     {"keep", o.stretch->keep}, {"factor", o.stretch->factor}, {"tensor", name},
                     {"untouched_offset_rows", offset}, {"rows_before", before.size(0)}, {"rows_after", rows},
                     {"max_positions_before", arch.max_positions}, {"max_positions_after", new_max_positions}});
  }
  if (!o.rope_scaling.empty()) {
    if (arch.positional != PositionalKind::Rotary)
      throw InputError("--rope-scaling: " + o.model_dir + " is a " + family_name(arch.family) +
                       " model with learned positions; RoPE scaling needs a rotary (LLaMA-family) model");
    // HF's own field: config.json's rope_scaling, so other tools apply the same scaling on load.
    const nlohmann::json rs = parse_rope_scaling_spec(o.rope_scaling);
    ArchSpec scaled = arch;
    apply_rope_scaling(scaled, rs, "--rope-scaling");
    config["rope_scaling"] = ojson::parse(rs.dump());
    new_max_positions = scaled.max_positions;
    steps.push_back({{"kind", "rope_scaling"}, {"spec", o.rope_scaling}, {"recorded_in", "config.json rope_scaling"},
                     {"resolved", describe_rope_scaling(scaled)}, {"max_positions_before", arch.max_positions},
                     {"max_positions_after", new_max_positions}});
  }

  // Weight sparsity (prune.h, decompose.h), after the position changes and before quantisation.
  if (o.prune) steps.push_back(prune_step(arch, tensors, ck.dir(), *o.prune));
  std::optional<DecomposeOutput> decomposed;
  if (o.decompose) {
    decomposed = decompose_step(arch, tensors, ck.dir(), *o.decompose);
    decomposed->step["directories"] = {{"lowrank+sparse (UV + S)", out.string()},
                                       {"lowrank (UV)", out.string() + kLowrankSuffix},
                                       {"minus-lowrank (W - UV = S + residual)", out.string() + kMinusLowrankSuffix}};
    decomposed->step["this_directory"] = "lowrank+sparse (UV + S)";
    steps.push_back(decomposed->step);
  }
  const size_t steps_before_quantize = steps.size();

  // The new config must parse to what was written (the same check every loader makes).
  const std::string new_config = config.dump(2) + "\n";
  const ArchSpec check = parse_arch(new_config, "intervened config.json");
  if (check.max_positions != new_max_positions) throw RuntimeError("intervene: internal: config does not give the new length");

  // Quantisation last: it sees (and FlexRound calibrates) the model as the earlier steps left it.
  const fs::path quant_work = out.parent_path() / ("." + out.filename().string() + ".quantize-work");
  std::optional<QuantizeOutcome> quantized;
  if (o.quantize) {
    QuantizeRun run = o.quantize_run;
    run.work_dir = quant_work.string();
    quantized = quantize_checkpoint(*o.quantize, check, tensors, run);
    if (!quantized->complete) {
      InterveneResult r{out.string(), arch.max_positions, new_max_positions, ""};
      r.complete = false, r.blocks_done = quantized->blocks_done, r.blocks_total = quantized->blocks_total;
      return r;
    }
    steps.push_back(quantized->record);
  }

  if (const std::string prev = (src / kInterventionFile).string(); file_exists(prev))
    record["previous"] = ojson::parse(read_file(prev));  // an intervened model intervened again keeps its history
  record["source"] = source;
  record["interventions"] = steps;

  // Everything is written into a hidden sibling first, then renamed into place.
  const fs::path parent = out.parent_path();
  fs::create_directories(parent);
  const fs::path tmp = parent / ("." + out.filename().string() + ".tmp-" + std::to_string(getpid()));
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp);
  try {
    std::vector<st::TensorData> list;
    for (auto& [n, t] : tensors) list.push_back(std::move(t));
    st::write((tmp / "model.safetensors").string(), list, metadata);
    write_file_atomic((tmp / "config.json").string(), new_config);
    for (const char* f : kCopied) {
      const fs::path from = src / f;
      if (!fs::is_regular_file(from, ec)) continue;
      std::string text = read_file(from.string());
      if (std::string(f) == "tokenizer_config.json" && new_max_positions != arch.max_positions) {
        // HF tokenizers warn or truncate past model_max_length: raise it with the table.
        ojson tc = ojson::parse(text);
        if (tc.contains("model_max_length")) tc["model_max_length"] = new_max_positions;
        text = tc.dump(2) + "\n";
      }
      write_file_atomic((tmp / f).string(), text);
    }
    if (quantized) st::write((tmp / kQuantizationFile).string(), quantized->quant_file, quantized->quant_metadata);
    if (decomposed) {
      write_file_atomic((tmp / kDecompositionCsv).string(), decomposed->csv);
      write_factors((tmp / kDecompositionFactors).string(), decomposed->factors);
    }
    write_file_atomic((tmp / kInterventionFile).string(), record.dump(2) + "\n");
    if (fs::exists(out, ec)) {
      const fs::path old = parent / ("." + out.filename().string() + ".old-" + std::to_string(getpid()));
      fs::remove_all(old, ec);
      fs::rename(out, old);
      fs::rename(tmp, out);
      fs::remove_all(old, ec);
    } else {
      fs::rename(tmp, out);
    }
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(tmp, ec);
    throw RuntimeError("intervene: writing " + o.out_dir + ": " + e.code().message());
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  if (decomposed) {
    // The ablations hold the weights as the decomposition left them (a later --quantize is not applied to them).
    for (const auto& [suffix, part, parts] :
         {std::tuple{kLowrankSuffix, "lowrank (UV)", &decomposed->lowrank},
          std::tuple{kMinusLowrankSuffix, "minus-lowrank (W - UV = S + residual)", &decomposed->minus_lowrank}}) {
      ojson rec = record;
      rec["interventions"] = ojson(std::vector<ojson>(steps.begin(), steps.begin() + long(steps_before_quantize)));
      rec["interventions"].back()["this_directory"] = part;
      write_sibling_model(out.string(), out.string() + suffix, *parts, metadata, kInterventionFile, rec.dump(2) + "\n");
    }
  }
  fs::remove_all(quant_work, ec);  // the result is in place: the per-block state is no longer needed
  return {out.string(), arch.max_positions, new_max_positions, record.dump(2)};
}

}  // namespace ps::models
