// Byte-level BPE trainer: a port of HF tokenizers' BpeTrainer::do_train (see bpe_trainer.h).
#include "models/train/bpe_trainer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <queue>
#include <unordered_map>

#include "models/tokenizer/components.h"
#include "models/tokenizer/unicode.h"
#include "models/util/error.h"

namespace ps::train {

namespace {

using Pair = uint64_t;  // (left id << 32) | right id: integer order = HF's (left, right) tuple order
Pair pair_of(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
int32_t left(Pair p) { return int32_t(p >> 32); }
int32_t right(Pair p) { return int32_t(p & 0xffffffffu); }

struct Merge {
  int64_t count;
  Pair pair;
  std::vector<int32_t> pos;  // words that held the pair when this entry was queued (HF's `pos`)
};
// Max-heap order: higher count first; on ties the smaller pair first (HF: other.pair.cmp(&self.pair)).
struct MergeLess {
  bool operator()(const Merge& a, const Merge& b) const {
    return a.count != b.count ? a.count < b.count : a.pair > b.pair;
  }
};

// HF Word::merge: replaces every non-overlapping (a, b), left to right, and reports the pair changes.
void merge_word(std::vector<int32_t>& w, int32_t a, int32_t b, int32_t rep, std::vector<std::pair<Pair, int>>& changes) {
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i] != a || i + 1 >= w.size() || w[i + 1] != b) continue;
    if (i > 0) {
      changes.push_back({pair_of(w[i - 1], a), -1});
      changes.push_back({pair_of(w[i - 1], rep), 1});
    }
    w[i] = rep;
    w.erase(w.begin() + i + 1);
    if (i + 1 < w.size()) {
      changes.push_back({pair_of(b, w[i + 1]), -1});
      changes.push_back({pair_of(rep, w[i + 1]), 1});
    }
  }
}

void sort_unique(std::vector<int32_t>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

}  // namespace

BpeModel train_bpe(const std::vector<std::string>& texts, const BpeOptions& opt, Progress* progress) {
  BpeModel m;
  m.special_tokens = opt.special_tokens;
  // 1. Words, split exactly as the ByteLevel pre-tokenizer of the written tokenizer.json splits them.
  const auto pre = tok::make_pre_tokenizer(
      tok::json{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}},
      tok::JsonAt{"bpe_trainer", "pre_tokenizer"});
  std::unordered_map<std::string, int64_t> word_counts;
  for (size_t i = 0; i < texts.size(); ++i) {
    size_t bad = 0;
    if (!tok::utf8_valid(texts[i], &bad))
      throw InputError("train-tokenizer: text " + std::to_string(i) + ": not valid UTF-8 at byte " + std::to_string(bad));
    std::vector<tok::Split> splits{tok::Split{tok::NormalizedString(texts[i], 0), false, -1}};
    pre->pre_tokenize(splits);
    for (const auto& s : splits) ++word_counts[s.ns.get()], ++m.words;
  }
  m.distinct_words = int64_t(word_counts.size());
  std::vector<std::pair<std::string, int64_t>> sorted_words(word_counts.begin(), word_counts.end());
  std::sort(sorted_words.begin(), sorted_words.end());  // word order never changes the result; fixed anyway

  // 2. Vocabulary: special tokens, then the alphabet by code point.
  std::unordered_map<std::string, int32_t> w2id;
  auto add_token = [&](const std::string& s) {
    auto [it, fresh] = w2id.emplace(s, int32_t(m.vocab.size()));
    if (fresh) m.vocab.push_back(s);
    return it->second;
  };
  for (const auto& s : opt.special_tokens) add_token(s);
  std::map<char32_t, bool> alphabet;
  for (const auto& [w, c] : sorted_words)
    for (char32_t ch : tok::utf8_chars(w)) alphabet[ch] = true;
  if (opt.byte_alphabet)
    for (int b = 0; b < 256; ++b) alphabet[tok::byte_to_char(uint8_t(b))] = true;
  for (const auto& [ch, unused] : alphabet) {
    std::string s;
    tok::utf8_append(s, ch);
    add_token(s);
  }
  std::vector<std::vector<int32_t>> words;
  std::vector<int64_t> counts;
  for (const auto& [w, c] : sorted_words) {
    std::vector<int32_t> syms;
    for (char32_t ch : tok::utf8_chars(w)) {
      std::string s;
      tok::utf8_append(s, ch);
      syms.push_back(w2id.at(s));
    }
    words.push_back(std::move(syms));
    counts.push_back(c);
  }

  // 3. Pair statistics and the merge loop (HF: count_pairs, then the BinaryHeap loop).
  std::unordered_map<Pair, int64_t> pair_counts;
  std::unordered_map<Pair, std::vector<int32_t>> where_to_update;
  for (size_t i = 0; i < words.size(); ++i)
    for (size_t j = 0; j + 1 < words[i].size(); ++j) {
      const Pair p = pair_of(words[i][j], words[i][j + 1]);
      pair_counts[p] += counts[i];
      where_to_update[p].push_back(int32_t(i));
    }
  std::priority_queue<Merge, std::vector<Merge>, MergeLess> queue;
  auto flush_updates = [&] {
    for (auto& [p, pos] : where_to_update) {
      const int64_t c = pair_counts.at(p);
      if (c > 0) {
        sort_unique(pos);
        queue.push(Merge{c, p, std::move(pos)});
      }
    }
    where_to_update.clear();
  };
  flush_updates();
  if (progress) progress->set_total(std::max<int64_t>(0, opt.vocab_size - int64_t(m.vocab.size())));

  std::vector<std::pair<Pair, int32_t>> merges;  // (pair, new id), duplicates possible as in HF
  std::vector<std::pair<Pair, int>> changes;
  while (int64_t(m.vocab.size()) < opt.vocab_size && !queue.empty()) {
    if (progress && progress->cancelled()) throw RuntimeError("train-tokenizer: cancelled");
    Merge top = queue.top();
    queue.pop();
    const int64_t now = pair_counts.at(top.pair);
    if (top.count != now) {  // stale entry: requeue with the current count
      top.count = now;
      queue.push(std::move(top));
      continue;
    }
    if (top.count < 1 || top.count < opt.min_frequency) break;
    const std::string merged = m.vocab[left(top.pair)] + m.vocab[right(top.pair)];
    const size_t before = m.vocab.size();
    const int32_t id = add_token(merged);
    merges.push_back({top.pair, id});
    changes.clear();
    for (int32_t iw : top.pos) {
      const size_t first = changes.size();
      merge_word(words[iw], left(top.pair), right(top.pair), id, changes);
      for (size_t k = first; k < changes.size(); ++k) {
        auto [p, change] = changes[k];
        pair_counts[p] += change * counts[iw];
        if (change > 0) where_to_update[p].push_back(iw);
      }
    }
    flush_updates();
    if (progress && m.vocab.size() > before) progress->advance(1);
  }
  // HF stores merges in a map keyed by pair (a repeated pair keeps its last rank) and writes them by rank.
  std::unordered_map<Pair, size_t> last;
  for (size_t r = 0; r < merges.size(); ++r) last[merges[r].first] = r;
  for (size_t r = 0; r < merges.size(); ++r)
    if (last.at(merges[r].first) == r)
      m.merges.push_back({m.vocab[left(merges[r].first)], m.vocab[right(merges[r].first)]});
  if (progress) progress->finish();
  return m;
}

std::string tokenizer_json(const BpeModel& m) {
  using oj = nlohmann::ordered_json;
  oj added = oj::array();
  for (const auto& s : m.special_tokens) {
    int32_t id = -1;
    for (size_t i = 0; i < m.vocab.size(); ++i)
      if (m.vocab[i] == s) id = int32_t(i), i = m.vocab.size();
    added.push_back(oj{{"id", id}, {"content", s}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                       {"normalized", false}, {"special", true}});
  }
  oj vocab = oj::object();
  for (size_t i = 0; i < m.vocab.size(); ++i) vocab[m.vocab[i]] = int64_t(i);
  oj merges = oj::array();
  for (const auto& [a, b] : m.merges) merges.push_back(oj::array({a, b}));
  auto byte_level = [](bool prefix, bool trim) {
    return oj{{"type", "ByteLevel"}, {"add_prefix_space", prefix}, {"trim_offsets", trim}, {"use_regex", true}};
  };
  oj j{{"version", "1.0"},
       {"truncation", nullptr},
       {"padding", nullptr},
       {"added_tokens", added},
       {"normalizer", nullptr},
       {"pre_tokenizer", byte_level(false, true)},
       {"post_processor", byte_level(true, false)},
       {"decoder", byte_level(true, true)},
       {"model",
        oj{{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
           {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", false},
           {"vocab", vocab}, {"merges", merges}}}};
  return j.dump(1) + "\n";
}

}  // namespace ps::train
