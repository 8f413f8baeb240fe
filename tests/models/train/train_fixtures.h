#pragma once
// Shared helpers for the training tests: real code from this repository as a small corpus, scratch
// folders under the build tree, and the Node reference script (HF tokenizers).
#include <string>
#include <vector>

namespace pstest {

// The .cpp/.h files under the given repository folders (sorted by path), one document each.
std::vector<std::string> source_documents(const std::vector<std::string>& dirs);
// A frozen snapshot of project sources (tests/models/train/fixtures/code_<name>.jsonl, one {"path","text"} per
// line), for tests whose thresholds depend on the text: the live sources change with every commit.
std::vector<std::string> frozen_documents(const std::string& name);
// The frozen train/valid documents and a 384-token BPE tokenizer trained on the train part (the given special
// tokens first, or BpeOptions' default <|endoftext|>), written to a scratch folder named tag. Built once per process and tag.
struct FrozenCorpus {
  std::vector<std::string> train, valid;
  std::string tokenizer;  // path of tokenizer.json
};
const FrozenCorpus& frozen_corpus(const std::string& tag, const std::vector<std::string>& special_tokens = {});
// An empty folder PS_BINARY_DIR/train_tests/<name>_<pid>.
std::string temp_dir(const std::string& name);
// "" when node and the npm `tokenizers` package are available, else why the reference tests skip.
std::string node_skip_reason();
// A train_log.csv without its wall-time column (the 5th), for comparing two runs' logs line by line.
std::string log_without_seconds(const std::string& path);
// Runs tests/models/train/hf_bpe.js with the arguments; returns the exit status.
int run_node(const std::string& args);

}  // namespace pstest
