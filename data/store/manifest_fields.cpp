#include "data/store/manifest_fields.h"

#include <filesystem>

#include "models/util/spec.h"

namespace ps::store {

std::string model_label(const Manifest& m, const std::string& store_path) {
  const auto it = m.find("model_label");
  return it != m.end() && !it->second.empty() ? it->second : std::filesystem::path(store_path).stem().string();
}

std::string language(const Manifest& m) {
  const auto it = m.find("language");
  return it != m.end() ? it->second : "";
}

int n_layers(const Manifest& m, const std::string& store_path) {
  const auto it = m.find("n_layers");
  if (it == m.end()) return 0;
  return static_cast<int>(spec::to_int(it->second, store_path + ": manifest n_layers", 0, 1 << 16));
}

}  // namespace ps::store
