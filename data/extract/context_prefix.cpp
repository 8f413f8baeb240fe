#include "data/extract/context_prefix.h"

#include <algorithm>
#include <random>

#include "data/corpus/readers.h"
#include "models/open/open_model.h"
#include "models/util/error.h"

namespace ps::extract {

int32_t separator_token(const tok::Tokenizer& tk, const models::ArchSpec& arch, const std::string& tk_path) {
  const int32_t id = models::document_separator(tk, arch);
  if (id < 0) throw InputError(tk_path + ": no eos token to separate the functions of --context-prefix");
  return id;
}

ContextPrefix::ContextPrefix(const std::string& corpus, const std::string& language, const std::string& splits,
                             int64_t tokens, uint64_t seed, int32_t separator, const tok::Tokenizer& tokenizer)
    : tokens_(tokens), separator_(separator), tokenizer_(tokenizer), corpus_(corpus) {
  if (tokens < 1) throw InputError("--context-prefix: " + std::to_string(tokens) + " is not a positive token count");
  // Record indices exactly as extract's producer counts them: the same reader with the same options.
  corpus::Summary summary;
  corpus::Reporter rep(summary);
  int64_t record = -1;
  corpus::read_jsonl(corpus, corpus::ReadOptions{}, rep, [&](corpus::Snippet&& s) {
    ++record;
    if (language != "any" && s.language != language) return;
    if (!splits.empty() && ("," + splits + ",").find("," + s.split + ",") == std::string::npos) return;
    splits_[s.split].order.push_back(record);
    code_[record] = std::move(s.code);
  });
  std::mt19937_64 rng(seed);
  for (auto& [name, split] : splits_) {  // std::map: the splits in a fixed order, so one rng stream is stable
    auto& o = split.order;
    for (size_t i = o.size(); i > 1; --i) std::swap(o[i - 1], o[rng() % i]);
    for (size_t i = 0; i < o.size(); ++i) place_[o[i]] = {name, i};
  }
}

const std::vector<int32_t>& ContextPrefix::ids_of(int64_t record) const {
  auto it = ids_.find(record);
  if (it != ids_.end()) return it->second;
  auto code = code_.find(record);
  const auto enc = tokenizer_.encode(code->second, /*add_special_tokens=*/false);
  code_.erase(code);
  return ids_.emplace(record, std::vector<int32_t>(enc.ids.begin(), enc.ids.end())).first->second;
}

std::vector<int32_t> ContextPrefix::before(int64_t source_index) const {
  const auto at = place_.find(source_index);
  if (at == place_.end())
    throw RuntimeError("--context-prefix: internal: record " + std::to_string(source_index + 1) + " is not in the pool");
  const auto& [split, place] = at->second;
  const auto& order = splits_.at(split).order;
  if (order.size() < 2)
    throw InputError(corpus_ + ": --context-prefix needs other functions of split '" + split +
                     "' to put before record " + std::to_string(source_index + 1) + ", and it has none");
  // Filled from the end: SEP o1, then SEP o2 before it, ... until N tokens.
  std::vector<int32_t> rev;
  rev.reserve(size_t(tokens_));
  for (size_t step = 1; int64_t(rev.size()) < tokens_; ++step) {
    const size_t k = (place + step) % order.size();
    if (k == place) continue;  // never the function itself
    rev.push_back(separator_);
    const auto& ids = ids_of(order[k]);
    for (auto i = ids.rbegin(); i != ids.rend() && int64_t(rev.size()) < tokens_; ++i) rev.push_back(*i);
  }
  rev.resize(size_t(tokens_));
  return {rev.rbegin(), rev.rend()};
}

}  // namespace ps::extract
