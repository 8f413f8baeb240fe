#include "models/open/variant.h"

#include <filesystem>

#include "models/config/arch.h"
#include "models/config/rope_scaling.h"

namespace ps::models {

std::shared_ptr<Engine> rescaled_engine(const Engine& base, const std::string& model_dir, const std::string& rope_scaling) {
  // From the checkpoint's own arch, not base's: base may already be rescaled (its max_positions raised).
  ArchSpec arch = load_arch((std::filesystem::path(model_dir) / "config.json").string());
  if (!rope_scaling.empty()) apply_rope_scaling(arch, parse_rope_scaling_spec(rope_scaling), "--rope-scaling");
  EngineOptions options = base.options();
  options.rope_scaling = rope_scaling;
  return std::make_shared<Engine>(base.model_ptr()->with_changes(arch, {}), options);
}

}  // namespace ps::models
