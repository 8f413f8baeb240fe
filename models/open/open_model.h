#pragma once
// One way to get a runnable model: a Hugging Face directory, random weights shaped like a directory's
// config.json, or random weights of a named preset, each on the device and dtype of LoadOptions. Every
// face (extract, bench, said, the GUI) opens models here, so a new source (an intervened model, a hub
// cache) is added once.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "models/tokenizer/tokenizer.h"
#include "models/transformer/engine.h"

namespace ps::models {

struct ModelSource {
  std::string dir;                      // HF directory (config.json, weights, tokenizer.json)
  std::optional<uint64_t> random_seed;  // random weights from this seed, shaped by dir's config.json or preset
  std::string preset;                   // "gpt2-small", ... (see arch_preset_names); needs random weights
  std::string tokenizer;                // tokenizer.json; default: dir/tokenizer.json (none for a bare preset)
  // Random weights only: keep the checkpoint's embeddings (tokens, positions, token types, embedding norm) and
  // randomise the blocks, as the AST-Probe reference's random baseline does; false = randomise everything.
  bool keep_embeddings = false;

  static ModelSource directory(std::string dir) { return {std::move(dir), std::nullopt, "", ""}; }
  static ModelSource random(std::string dir, uint64_t seed) { return {std::move(dir), seed, "", ""}; }
  static ModelSource named_preset(std::string name, uint64_t seed) { return {"", seed, std::move(name), ""}; }
};

struct OpenedModel {
  std::shared_ptr<Engine> engine;
  std::shared_ptr<const tok::Tokenizer> tokenizer;  // null when the source has none
  std::string tokenizer_path;                       // "" when none
  std::string label;  // short name for tables: the directory's name (+ "-random"), or the preset's
};

// Throws InputError naming the file and field for a bad source; the Engine gets `load` and default run options.
OpenedModel open_model(const ModelSource& source, const LoadOptions& load = {}, const RunOptions& run = {});

// The token that separates documents (functions joined into one stream, as in pre-training): config.json's eos,
// else the tokenizer's <|endoftext|> or </s>; -1 when there is none. One rule for eval ppl and --context-prefix.
int32_t document_separator(const tok::Tokenizer& tokenizer, const ArchSpec& arch);

// The label open_model gives a source (also what extraction writes as model_label by default).
std::string default_label(const ModelSource& source);

}  // namespace ps::models
