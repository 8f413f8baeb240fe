#include "data/store/manifest_fields.h"

#include <algorithm>
#include <filesystem>

#include "data/store/reader.h"
#include "models/util/error.h"
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

std::string layer_label(const Manifest& m, int layer) {
  const auto it = m.find("final_norm_layer");
  const bool normed = it != m.end() && it->second == std::to_string(layer);
  if (!normed) return std::to_string(layer);
  const auto name = m.find("final_norm");
  return std::to_string(layer) + " (" + (name != m.end() && !name->second.empty() ? name->second : "final norm") + ")";
}

std::string raw_last_block_act(const Manifest& m) {
  const auto it = m.find("raw_last_block");
  return it != m.end() ? it->second : "";
}

std::vector<int> resolve_layers(const std::string& text, const std::vector<int>& stored, const std::string& store_path,
                                int n_layers) {
  if (stored.empty()) throw InputError(where(store_path, "no layers of this kind are stored"));
  if (text == "all" || text.empty()) return stored;
  std::vector<int> out;
  for (const auto& item : spec::split_list(text, "layers")) {
    int layer = static_cast<int>(spec::to_int(item, "layers", -(1 << 16), 1 << 16));
    if (layer < 0 && n_layers > 0)
      layer += n_layers + 1;  // the model's convention: -1 = its last hidden state
    else if (layer < 0)
      layer = -layer <= static_cast<int>(stored.size()) ? stored[stored.size() - size_t(-layer)] : stored.front() - 1;
    if (std::find(stored.begin(), stored.end(), layer) == stored.end()) {
      std::string have;
      for (int x : stored) have += (have.empty() ? "" : ",") + std::to_string(x);
      throw InputError(where(store_path, "layer " + item + " is not stored (stored: " + have + ")"));
    }
    if (std::find(out.begin(), out.end(), layer) == out.end()) out.push_back(layer);
  }
  return out;
}

// StoreReader's answers are the rules above, so a store and a bare manifest always agree.
std::string StoreReader::model_label() const { return store::model_label(manifest(), path()); }
std::string StoreReader::language() const { return store::language(manifest()); }
int StoreReader::n_layers() const { return store::n_layers(manifest(), path()); }
std::string StoreReader::layer_label(int layer) const { return store::layer_label(manifest(), layer); }
std::vector<int> StoreReader::resolve_layers(const std::string& spec, Rows rows) const {
  return resolve_layers(spec, layers(rows));
}
std::vector<int> StoreReader::resolve_layers(const std::string& spec, const std::vector<int>& stored) const {
  return store::resolve_layers(spec, stored, path(), n_layers());
}

}  // namespace ps::store
