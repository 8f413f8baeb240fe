#pragma once
// Loading a corpus for direct use (fine-tuning tasks, tokenizer and LM training, showing one snippet):
// every kept snippet of a file in memory, or one record by id. Both read through read_input / the JSONL
// record rules (read_jsonl), so ids, languages and vetting match what `extract` stored.
#include <functional>
#include <string>
#include <vector>

#include "data/corpus/readers.h"

namespace ps::corpus {

struct LoadOptions {
  ReadOptions read;                                // language, size limits, ...
  std::function<void(const Problem&)> on_problem;  // each skipped record as it is found (e.g. to stderr)
  bool require_snippets = true;                    // InputError when every record was skipped
};

struct Loaded {
  std::vector<Snippet> snippets;  // in file order
  Summary summary;                // what was read and why the rest was skipped
};

// All snippets of the JSONL corpus `path` (read_jsonl's rules, whatever the extension). InputError naming
// the file when it is not a regular file or (require_snippets) nothing was kept: "f.jsonl: no usable snippets
// (skipped 3 (bad_json 2, too_large 1); first: f.jsonl:1: not valid JSON)".
Loaded load(const std::string& path, const LoadOptions& opt = {});

// The record of a JSONL corpus whose "id" is `id` (code from "code", else "original_string"). InputError
// naming the file: cannot open, "no record with id 'x'", or "file:line: ..." for a broken candidate line.
Snippet find(const std::string& jsonl_path, const std::string& id);

}  // namespace ps::corpus
