#include <cstdio>
#include "models/open/open_model.h"

#include <filesystem>
#include <optional>

#include "models/config/arch.h"
#include "models/config/rope_scaling.h"
#include "models/transformer/presets.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::models {

namespace fs = std::filesystem;

namespace {

// The checkpoint's embedding parameters (canonical keys "embed.*": tokens, positions, token types and the
// embedding LayerNorm) over freshly drawn blocks, final norm and heads.
std::shared_ptr<const Transformer> random_blocks_trained_embeddings(const std::string& dir, const ArchSpec& arch,
                                                                    uint64_t seed, at::ScalarType dtype,
                                                                    at::Device device) {
  const auto trained = Transformer::load(dir, dtype, device);
  const auto random = Transformer::random_init(arch, seed, dtype, device);
  std::map<std::string, at::Tensor> embeddings;
  for (const auto& [key, tensor] : trained->parameters())
    if (key.rfind("embed.", 0) == 0) embeddings[key] = tensor;
  if (embeddings.empty()) throw InputError(dir + ": the checkpoint has no embedding parameters to keep");
  return random->with_changes(random->arch(), embeddings);
}

}  // namespace

std::string default_label(const ModelSource& source) {
  if (!source.preset.empty()) return source.preset + "-random";
  std::string label = fs::path(source.dir).lexically_normal().filename().string();
  if ((label.empty() || label == ".") && !source.dir.empty())
    label = fs::absolute(source.dir).lexically_normal().parent_path().filename().string();
  if (label.empty()) label = "in-memory";
  if (source.random_seed) label += source.keep_embeddings ? "-random-encoder" : "-random";
  return label;
}

int32_t document_separator(const tok::Tokenizer& tokenizer, const ArchSpec& arch) {
  if (arch.eos_token_id >= 0) return int32_t(arch.eos_token_id);
  for (const char* t : {"<|endoftext|>", "</s>"})
    if (tokenizer.token_to_id(t) >= 0) return tokenizer.token_to_id(t);
  return -1;
}

OpenedModel open_model(const ModelSource& source, const LoadOptions& load, const RunOptions& run) {
  if (!source.preset.empty() && !source.dir.empty())
    throw InputError("model source: give a directory or a preset, not both");
  if (source.preset.empty() && source.dir.empty()) throw InputError("model source: give a model directory or a preset");
  if (!source.preset.empty() && !source.random_seed)
    throw InputError("model source: preset '" + source.preset + "' has no weights; it needs a random seed");
  if (source.keep_embeddings && (!source.random_seed || source.dir.empty()))
    throw InputError("model source: keeping the trained embeddings needs random weights and a model directory");

  OpenedModel out;
  out.tokenizer_path = !source.tokenizer.empty()            ? source.tokenizer
                       : !source.dir.empty()                 ? (fs::path(source.dir) / "tokenizer.json").string()
                                                             : "";
  // The tokenizer first: cheap, and a broken one should fail before gigabytes of weights load.
  if (!out.tokenizer_path.empty()) {
    if (!source.tokenizer.empty() || file_exists(out.tokenizer_path))
      out.tokenizer = std::make_shared<const tok::Tokenizer>(tok::Tokenizer::from_file(out.tokenizer_path));
    else
      out.tokenizer_path.clear();
  }

  // Every id the tokenizer can produce needs an embedding row: checked from config.json, before the weights.
  const ArchSpec arch = !source.preset.empty() ? arch_preset(source.preset)
                                               : load_arch((fs::path(source.dir) / "config.json").string());
  // A bad or inapplicable override (GPT-2/BERT have no rotary positions) fails before the weights load.
  std::optional<ArchSpec> rescaled;
  if (!load.rope_scaling.empty()) {
    rescaled = arch;
    apply_rope_scaling(*rescaled, parse_rope_scaling_spec(load.rope_scaling), "--rope-scaling");
  }
  if (out.tokenizer && out.tokenizer->vocab_size() > arch.vocab_size)
    throw InputError(out.tokenizer_path + ": " + std::to_string(out.tokenizer->vocab_size()) +
                     " tokens, but the model's vocab_size is " + std::to_string(arch.vocab_size) +
                     " (ids past it have no embedding row)");

  LoadOptions resolved = load;
  if (load.dtype == "auto") {
    std::string reason;
    resolved.dtype = choose_dtype(load.dtype, load.device, load.threads, &reason);
    std::fprintf(stderr, "%s\n", reason.c_str());
  }
  const at::ScalarType dtype = dtype_from_name(resolved.dtype);
  const at::Device device = parse_device(resolved.device);
  std::shared_ptr<const Transformer> model;
  if (!source.preset.empty())
    model = random_model_preset(source.preset, dtype, *source.random_seed, device);
  else if (source.random_seed && source.keep_embeddings)
    model = random_blocks_trained_embeddings(source.dir, arch, *source.random_seed, dtype, device);
  else if (source.random_seed)
    model = Transformer::random_init(arch, *source.random_seed, dtype, device);
  else
    model = Transformer::load(source.dir, dtype, device);
  if (rescaled) model = model->with_changes(*rescaled, {});

  EngineOptions eo;
  static_cast<LoadOptions&>(eo) = resolved;
  static_cast<RunOptions&>(eo) = run;
  out.engine = std::make_shared<Engine>(std::move(model), eo);
  out.label = default_label(source);
  return out;
}

}  // namespace ps::models
