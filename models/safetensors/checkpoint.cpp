// Sharded checkpoints: model.safetensors, or model.safetensors.index.json + the shards it names.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "models/safetensors/safetensors.h"
#include "models/util/error.h"

namespace ps::st {

namespace {
nlohmann::json read_index(const std::string& index) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(index));
  } catch (const nlohmann::json::exception& e) {
    const std::string msg = e.what();
    throw InputError(index + ": invalid JSON (" + printable(msg.substr(0, msg.find('\n')), 200) + ")");
  }
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    throw InputError(index + ": field 'weight_map': missing or not an object");
  if (j["weight_map"].empty()) throw InputError(index + ": field 'weight_map': empty");
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    const std::string field = index + ": field 'weight_map." + printable(it.key()) + "': ";
    if (!it.value().is_string()) throw InputError(field + "not a string");
    const std::string f = it.value().get<std::string>();
    // Shards live beside the index; anything else (paths, "..") would read outside the model directory.
    if (f.empty() || f.find('/') != std::string::npos || f == "." || f == "..")
      throw InputError(field + "shard '" + printable(f) + "' is not a plain file name");
  }
  return j;
}
}  // namespace

std::vector<std::string> checkpoint_files(const std::string& model_dir) {
  const std::string single = model_dir + "/model.safetensors";
  if (file_exists(single)) return {single};
  const std::string index = model_dir + "/model.safetensors.index.json";
  if (!file_exists(index))
    throw InputError(model_dir + ": no model.safetensors or model.safetensors.index.json "
                     "(PyTorch .bin checkpoints are not read; convert them to safetensors)");
  const nlohmann::json j = read_index(index);
  std::vector<std::string> files;
  for (const auto& v : j["weight_map"]) files.push_back(model_dir + "/" + v.get<std::string>());
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  return files;
}

Checkpoint::Checkpoint(const std::string& model_dir) : dir_(model_dir) {
  const auto files = checkpoint_files(model_dir);
  for (const auto& path : files) {
    shards_.push_back(File::open(path));
    const File& f = shards_.back();
    for (const auto& name : f.names()) {
      auto [it, inserted] = where_.emplace(name, shards_.size() - 1);
      if (!inserted)
        throw InputError(path + ": tensor '" + printable(name) + "': also in " + shards_[it->second].source());
    }
  }
  // With an index, every entry must be where the index says; a stale index means a mixed-up download.
  const std::string index = model_dir + "/model.safetensors.index.json";
  if (files.size() == 1 && files[0] == model_dir + "/model.safetensors") return;
  const nlohmann::json j = read_index(index);
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    const std::string shard = model_dir + "/" + it.value().get<std::string>();
    auto w = where_.find(it.key());
    if (w == where_.end() || shards_[w->second].source() != shard)
      throw InputError(index + ": field 'weight_map." + printable(it.key()) + "': tensor not found in " + shard);
  }
}

const TensorInfo* Checkpoint::find(const std::string& name) const {
  auto it = where_.find(name);
  return it == where_.end() ? nullptr : shards_[it->second].find(name);
}

const TensorInfo& Checkpoint::at(const std::string& name) const {
  if (const auto* t = find(name)) return *t;
  throw InputError(dir_ + ": tensor '" + printable(name) + "': missing from the checkpoint");
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : where_) out.push_back(k);
  return out;
}

}  // namespace ps::st
