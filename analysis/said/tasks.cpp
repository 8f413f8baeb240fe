#include "analysis/said/tasks.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include "data/corpus/load.h"
#include "data/corpus/split.h"
#include "models/tokenizer/tokenizer.h"
#include "models/util/error.h"

namespace ps::said {

namespace {

// Nodes that open a new function scope: a return inside one belongs to it, not to the snippet's function.
bool opens_function(syntax::Language lang, const std::string& t) {
  using syntax::Language;
  switch (lang) {
    case Language::Python: return t == "function_definition" || t == "lambda";
    case Language::JavaScript:
      return t == "function_declaration" || t == "generator_function_declaration" || t == "method_definition" ||
             t == "function_expression" || t == "function" || t == "arrow_function" || t == "generator_function";
    case Language::Go: return t == "function_declaration" || t == "method_declaration" || t == "func_literal";
    case Language::Java:
      return t == "method_declaration" || t == "constructor_declaration" || t == "lambda_expression";
    case Language::Cpp: return t == "function_definition" || t == "lambda_expression";
  }
  return false;
}

bool is_return(const std::string& t) { return t == "return_statement" || t == "co_return_statement"; }

// Hash order for balanced, seeded sampling; the id disambiguates identical code.
uint64_t order_key(const corpus::Snippet& s, uint64_t seed) { return corpus::hash64(s.id + '\n' + s.code, seed); }

}  // namespace

Task task_from_name(const std::string& name) {
  if (name == "language") return Task::Language;
  if (name == "returns") return Task::Returns;
  throw InputError("--task: unknown task '" + name + "' (known: language, returns)");
}

const char* task_name(Task t) { return t == Task::Language ? "language" : "returns"; }

std::optional<bool> returns_value(const std::string& code, syntax::Language lang) {
  const auto r = syntax::try_parse(code, lang);
  if (!r.ok()) return std::nullopt;
  const auto& nodes = r.tree.nodes;
  // The snippet's function: the first function node in pre-order; the whole tree if there is none.
  int root = r.tree.root;
  for (int i = 0; i < int(nodes.size()); ++i)
    if (opens_function(lang, nodes[i].type)) {
      root = i;
      break;
    }
  if (root < 0) return false;
  if (nodes[root].type == "arrow_function" && !nodes[root].children.empty()) {
    const auto& body = nodes[nodes[root].children.back()];
    if (body.named && body.type != "statement_block") return true;  // (x) => x + 1
  }
  std::vector<int> stack(nodes[root].children.rbegin(), nodes[root].children.rend());
  while (!stack.empty()) {
    const int n = stack.back();
    stack.pop_back();
    const auto& node = nodes[n];
    if (opens_function(lang, node.type)) continue;
    if (is_return(node.type)) {
      for (int c : node.children)
        if (nodes[c].named) return true;
      continue;
    }
    stack.insert(stack.end(), node.children.rbegin(), node.children.rend());
  }
  return false;
}

std::vector<corpus::Snippet> read_corpora(const std::vector<std::string>& files) {
  if (files.empty()) throw InputError("--corpus: no corpus file given");
  std::vector<corpus::Snippet> out;
  for (const auto& f : files) {
    auto loaded = corpus::load(f);  // InputError naming f and why its records were skipped
    std::move(loaded.snippets.begin(), loaded.snippets.end(), std::back_inserter(out));
  }
  return out;
}

std::vector<int64_t> TaskData::class_counts(const std::vector<Example>& xs) const {
  std::vector<int64_t> c(classes.size(), 0);
  for (const auto& x : xs) ++c.at(x.label);
  return c;
}

std::string TaskData::summary() const {
  std::ostringstream o;
  o << "task " << task << ": " << classes.size() << " classes\n";
  for (const auto& [name, xs] : {std::pair{"train", &train}, std::pair{"valid", &valid}}) {
    o << "  " << name << ": " << xs->size() << " examples (";
    const auto c = class_counts(*xs);
    for (size_t k = 0; k < classes.size(); ++k) o << (k ? ", " : "") << classes[k] << " " << c[k];
    o << ")\n";
  }
  o << "  considered " << considered << ", skipped: too long " << too_long << ", unparsed " << unparsed
    << ", unsupported language " << unsupported;
  return o.str();
}

TaskData build_task(const std::vector<corpus::Snippet>& snippets, const tok::Tokenizer& tokenizer,
                    const TaskOptions& opt) {
  if (opt.max_len < 2) throw InputError("--max-len: must be at least 2");
  TaskData data;
  data.task = task_name(opt.task);
  std::map<std::string, int> lang_class;
  if (opt.task == Task::Language) {
    std::set<std::string> langs;
    for (const auto& s : snippets) langs.insert(s.language);
    data.classes.assign(langs.begin(), langs.end());
    for (size_t k = 0; k < data.classes.size(); ++k) lang_class[data.classes[k]] = int(k);
  } else {
    data.classes = {"no-value", "returns-value"};
  }
  if (data.classes.size() < 2)
    throw InputError("task " + data.task + ": the corpus has only one class ('" +
                     (data.classes.empty() ? std::string("none") : data.classes[0]) +
                     "'); the language task needs corpora in at least two languages");

  // Which split each snippet feeds (0 train, 1 valid, -1 unused), then seeded hash order within each.
  std::vector<std::vector<std::pair<uint64_t, size_t>>> order(2);
  const std::array<double, 3> frac{1.0 - opt.valid_fraction, opt.valid_fraction, 0.0};
  for (size_t i = 0; i < snippets.size(); ++i) {
    const auto& s = snippets[i];
    int split = -1;
    if (s.split == "train") split = 0;
    else if (s.split == "valid" || s.split == "validation") split = 1;
    else if (s.split.empty()) split = corpus::split_for_hash(corpus::hash64(s.code, opt.seed), frac);
    if (split == 0 || split == 1) order[split].push_back({order_key(s, opt.seed), i});
  }
  const int64_t C = int64_t(data.classes.size());
  for (int split = 0; split < 2; ++split) {
    auto& cand = order[split];
    std::sort(cand.begin(), cand.end());
    const int64_t total = split == 0 ? opt.max_train : opt.max_valid;
    const int64_t quota = std::max<int64_t>(1, total / C);
    std::vector<int64_t> have(C, 0);
    int64_t full = 0;
    auto& out = split == 0 ? data.train : data.valid;
    for (const auto& [key, i] : cand) {
      if (full == C) break;
      const auto& s = snippets[i];
      ++data.considered;
      int label;
      if (opt.task == Task::Language) {
        label = lang_class.at(s.language);
      } else {
        std::optional<syntax::Language> lang;
        try {
          lang = syntax::language_from_name(s.language);
        } catch (const InputError&) {
          ++data.unsupported;
          continue;
        }
        const auto r = returns_value(s.code, *lang);
        if (!r) {
          ++data.unparsed;
          continue;
        }
        label = *r ? 1 : 0;
      }
      if (have[label] >= quota) continue;
      auto enc = tokenizer.encode(s.code);
      if (int64_t(enc.ids.size()) > opt.max_len || enc.ids.empty()) {
        ++data.too_long;
        continue;
      }
      Example ex;
      ex.ids.assign(enc.ids.begin(), enc.ids.end());
      ex.label = label;
      ex.id = s.id;
      out.push_back(std::move(ex));
      if (++have[label] == quota) ++full;
    }
    if (out.empty())
      throw InputError(std::string("task ") + data.task + ": no " + (split == 0 ? "train" : "validation") +
                       " examples (corpus split field, --max-len " + std::to_string(opt.max_len) + ")");
  }
  return data;
}

}  // namespace ps::said
