// probescope inspect MODEL_DIR: what the loader made of a Hugging Face checkpoint.
#include <ATen/ATen.h>

#include <iostream>
#include <sstream>

#include "app/cli/commands.h"
#include "models/open/open_model.h"
#include "models/config/arch.h"
#include "models/config/rope_scaling.h"
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
    if (a.rope_scaling != RopeScaling::None) o << " scaling " << describe_rope_scaling(a);
  } else {
    o << "learned" << (a.position_offset ? " (offset " + std::to_string(a.position_offset) + ")" : "");
  }
  o << "\n";
  return o.str();
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
    // open_model loads and checks tokenizer.json first (cheap; a broken one fails before the weights load).
    ps::models::LoadOptions load;
    load.dtype = *dtype;
    const auto opened = ps::models::open_model(ps::models::ModelSource::directory(*model_dir), load);
    const auto& engine = opened.engine;
    const std::string tokenizer =
        opened.tokenizer ? "tokenizer: " + opened.tokenizer->model_type() + "  vocab: " +
                               std::to_string(opened.tokenizer->vocab_size()) + "\n"
                         : std::string("tokenizer: none (no tokenizer.json)\n");
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
