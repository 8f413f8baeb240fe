#include "app/study/hashing.h"

#include <filesystem>
#include <map>
#include <functional>
#include <mutex>

#include "models/util/error.h"
#include "models/util/sha256.h"

namespace ps::study {

namespace {
// Hashing a model or corpus once per process: a plan names each of them in many tasks.
std::string cached(const std::string& key, const std::function<std::string()>& compute) {
  static std::mutex mu;
  static std::map<std::string, std::string> memo;
  std::lock_guard<std::mutex> lock(mu);
  auto it = memo.find(key);
  if (it != memo.end()) return it->second;
  return memo[key] = compute();
}
}  // namespace

std::string file_hash(const std::string& path) {
  return cached("file:" + path, [&] { return sha256_file(path); });
}

std::string model_hash(const std::string& dir) {
  return cached("model:" + dir, [&] {
    std::string all;
    for (const char* name : {"config.json", "model.safetensors", "tokenizer.json"}) {
      const auto p = std::filesystem::path(dir) / name;
      if (std::filesystem::exists(p)) all += std::string(name) + "=" + sha256_file(p.string()) + "\n";
    }
    if (all.empty()) throw InputError(dir + ": not a model directory (no config.json)");
    return sha256_hex(all);
  });
}

std::string task_hash(const nlohmann::json& settings, const std::vector<std::string>& input_hashes) {
  std::string all = settings.dump() + "\n";
  for (const auto& h : input_hashes) all += h + "\n";
  return sha256_hex(all);
}

}  // namespace ps::study
