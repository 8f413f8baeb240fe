#pragma once
// Classification tasks for fine-tuning, derived from corpus JSONL (data/corpus Snippet fields):
//   language  which language a snippet is written in (classes: the languages present, sorted)
//   returns   does the function itself return a value — a `return` statement with an expression, found in
//             the Tree-sitter parse (data/syntax), not by a regex; returns inside nested functions/lambdas
//             belong to those and do not count; a JavaScript arrow function with an expression body returns
//             its value. Snippets that do not parse cleanly are skipped and counted.
// Train/validation come from the snippet's split field ("train", "valid"; "test" is held out and unused);
// snippets without one are assigned by a seeded hash of their code. Classes are balanced by taking, per
// split, the snippets with the smallest seeded hashes until each class has its quota.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/corpus/snippet.h"
#include "data/syntax/parse.h"

namespace ps::tok {
class Tokenizer;
}

namespace ps::said {

struct Example {
  std::vector<int64_t> ids;  // the model's token ids, special tokens included
  int label = 0;
  std::string id;            // snippet id, for reports
};

struct TaskData {
  std::string task;
  std::vector<std::string> classes;
  std::vector<Example> train, valid;
  // What was not used, for the summary.
  int64_t considered = 0, too_long = 0, unparsed = 0, unsupported = 0;
  std::vector<int64_t> class_counts(const std::vector<Example>& xs) const;
  std::string summary() const;  // one line per split with class counts, then the skips
};

enum class Task { Language, Returns };
Task task_from_name(const std::string& name);  // "language" | "returns"; InputError otherwise
const char* task_name(Task t);

struct TaskOptions {
  Task task = Task::Language;
  // Examples with more tokens are skipped, not truncated: cutting a function can cut away its return.
  int64_t max_len = 128;
  int64_t max_train = 2000, max_valid = 500;  // totals, split evenly across classes
  uint64_t seed = 123;
  double valid_fraction = 0.2;                // for snippets without a split field
};

// 1/0 for the `returns` label; nullopt when the code does not parse cleanly as `lang`.
std::optional<bool> returns_value(const std::string& code, syntax::Language lang);

// Reads JSONL corpora (data/corpus readers: bad lines are counted and skipped). InputError if none is usable.
std::vector<corpus::Snippet> read_corpora(const std::vector<std::string>& files);

// InputError when there are fewer than two classes or an empty split.
TaskData build_task(const std::vector<corpus::Snippet>& snippets, const tok::Tokenizer& tokenizer,
                    const TaskOptions& opt);

}  // namespace ps::said
