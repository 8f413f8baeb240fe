// probescope inspect MODEL_DIR: what the loader made of a Hugging Face checkpoint.
#include <ATen/ATen.h>

#include <iostream>
#include <sstream>

#include "app/cli/commands.h"
#include "models/config/arch.h"
#include "models/tokenizer/tokenizer.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::cli {

namespace {

std::string describe(const ps::models::ArchSpec& a) {
  using namespace ps::models;
  std::ostringstream o;
  o << "family: " << family_name(a.family) << " (model_type " << a.model_type << ")\n"
    << "layers: " << a.n_layers << "  d_model: " << a.d_model << "  heads: " << a.n_heads
    << "  kv_heads: " << a.n_kv_heads << "  head_dim: " << a.head_dim << "  d_ff: " << a.d_ff << "\n"
    << "vocab: " << a.vocab_size << "  max_positions: " << a.max_positions << "\n"
    << "norm: " << (a.norm == NormKind::RMSNorm ? "RMSNorm" : "LayerNorm") << " eps=" << a.norm_eps
    << (a.family == Family::BERT ? " (post-LN)" : " (pre-LN)") << "\n"
    << "attention: " << (a.causal ? "causal" : "bidirectional") << "\n"
    << "positions: ";
  if (a.positional == PositionalKind::Rotary) {
    o << "rotary theta=" << a.rope_theta;
    if (a.rope_scaling != RopeScaling::None) o << " scaling x" << a.rope_factor;
  } else {
    o << "learned" << (a.position_offset ? " (offset " + std::to_string(a.position_offset) + ")" : "");
  }
  o << "\n";
  return o.str();
}

// Loads and validates tokenizer.json beside the model: its ids must all have embedding rows.
std::string describe_tokenizer(const std::string& model_dir, const ps::models::ArchSpec& a) {
  const std::string path = model_dir + "/tokenizer.json";
  if (!ps::file_exists(path)) return "tokenizer: none (no tokenizer.json)\n";
  const auto tok = ps::tok::Tokenizer::from_file(path);
  if (tok.vocab_size() > a.vocab_size)
    throw ps::InputError(path + ": " + std::to_string(tok.vocab_size()) + " tokens, but config.json's vocab_size is " +
                         std::to_string(a.vocab_size) + " (ids past it have no embedding row)");
  return "tokenizer: " + tok.model_type() + "  vocab: " + std::to_string(tok.vocab_size()) + "\n";
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect", "Print a model's architecture, parameter count, dtype and hook names");
  auto model_dir = std::make_shared<std::string>();
  auto dtype = std::make_shared<std::string>("float32");
  cmd->add_option("MODEL_DIR", *model_dir, "Hugging Face model directory (config.json, model.safetensors)")
      ->required();
  cmd->add_option("--dtype", *dtype, "dtype to load the weights in")->capture_default_str();
  cmd->callback(guarded("inspect", [=] {
    // The tokenizer first: it is cheap, and a broken one should fail before the weights load.
    const std::string tokenizer = describe_tokenizer(*model_dir, ps::models::load_arch(*model_dir + "/config.json"));
    ps::models::EngineOptions opt;
    opt.dtype = *dtype;
    auto engine = ps::models::Engine::open(*model_dir, opt);
    const auto& m = engine->model();
    std::cout << "model_dir: " << *model_dir << "\n" << describe(m.arch()) << tokenizer
              << "parameters: " << m.num_parameters() << "\n"
              << "dtype: " << *dtype << "\n"
              << "device: " << engine->device().str() << "\n"
              << "layers (hidden_states): 0.." << m.arch().n_layers
              << "  (0 = embedding output, L = blocks.{L-1}.hook_resid_post)\n"
              << "hooks:\n";
    for (const auto& h : m.hook_names()) std::cout << "  " << h << "\n";
  }));
}

static const CommandRegistration registration{10, add_inspect_command};

}  // namespace ps::cli
