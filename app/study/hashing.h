#pragma once
// Content addresses of a study's inputs and tasks: SHA-256 over files (models, corpora) and over a task's
// settings (canonical JSON) with its inputs' hashes, so equal work has equal addresses across studies.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ps::study {

// A model directory: config.json, model.safetensors and tokenizer.json (those present), by name and content.
std::string model_hash(const std::string& dir);
// One file's content (SHA-256 of its bytes).
std::string file_hash(const std::string& path);
// A task: its settings (nlohmann's dump sorts keys, so equal settings dump equal) and its inputs' hashes in order.
std::string task_hash(const nlohmann::json& settings, const std::vector<std::string>& input_hashes);

}  // namespace ps::study
