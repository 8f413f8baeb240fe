#include "tests/models/train/train_fixtures.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <map>
#include <mutex>

#include <nlohmann/json.hpp>
#include "models/train/bpe_trainer.h"
#include "models/util/files.h"
#include "tests/common/scratch.h"

namespace pstest {

namespace fs = std::filesystem;

std::vector<std::string> source_documents(const std::vector<std::string>& dirs) {
  std::vector<std::string> paths;
  for (const auto& d : dirs)
    for (const auto& e : fs::recursive_directory_iterator(std::string(PS_SOURCE_DIR) + "/" + d)) {
      const auto ext = e.path().extension();
      if (e.is_regular_file() && (ext == ".cpp" || ext == ".h")) paths.push_back(e.path().string());
    }
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> docs;
  for (const auto& p : paths) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    docs.push_back(ss.str());
  }
  return docs;
}

std::vector<std::string> frozen_documents(const std::string& name) {
  const std::string path = std::string(PS_SOURCE_DIR) + "/tests/models/train/fixtures/code_" + name + ".jsonl";
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": missing");
  std::vector<std::string> docs;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) docs.push_back(nlohmann::json::parse(line).at("text").get<std::string>());
  return docs;
}

const FrozenCorpus& frozen_corpus(const std::string& tag, const std::vector<std::string>& special_tokens) {
  static std::map<std::string, FrozenCorpus> built;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  auto it = built.find(tag);
  if (it != built.end()) return it->second;
  FrozenCorpus k;
  k.train = frozen_documents("train");
  k.valid = frozen_documents("valid");
  ps::train::BpeOptions o;
  o.vocab_size = 384;
  if (!special_tokens.empty()) o.special_tokens = special_tokens;  // else BpeOptions' own (<|endoftext|>)
  k.tokenizer = temp_dir(tag) + "/tokenizer.json";
  ps::write_file_atomic(k.tokenizer, ps::train::tokenizer_json(ps::train::train_bpe(k.train, o)));
  return built.emplace(tag, std::move(k)).first->second;
}

std::string temp_dir(const std::string& name) {
  return ps::test::scratch_dir(name).string();
}

static std::string node_modules() { return std::string(PS_SOURCE_DIR) + "/.cache/node/node_modules"; }

std::string log_without_seconds(const std::string& path) {
  std::ifstream in(path);
  std::string line, out;
  while (std::getline(in, line)) {
    const auto p4 = line.find(',', line.find(',', line.find(',', line.find(',') + 1) + 1) + 1);
    out += line.substr(0, p4) + line.substr(line.find(',', p4 + 1)) + "\n";
  }
  return out;
}

std::string node_skip_reason() {
  if (std::system("command -v node >/dev/null 2>&1") != 0) return "node is not installed (script/bootstrap installs it)";
  if (!fs::exists(node_modules() + "/tokenizers/package.json"))
    return "npm package tokenizers missing under " + node_modules() + " (run script/bootstrap)";
  return "";
}

int run_node(const std::string& args) {
  const std::string cmd = "NODE_PATH='" + node_modules() + "' node '" + std::string(PS_SOURCE_DIR) +
                          "/tests/models/train/hf_bpe.js' " + args + " >/dev/null";
  return std::system(cmd.c_str());
}

}  // namespace pstest
