// BPE model (GPT-2 byte-level, RoBERTa, LLaMA SentencePiece-BPE with byte_fallback), a port of HF's
// models/bpe: characters (or <0xNN> byte tokens, or unk) become symbols, then merges are applied
// lowest rank first (ties: leftmost) with a priority queue, exactly as Word::merge_all does.
#include <cstdio>
#include <queue>
#include <unordered_map>
#include <vector>

#include "models/tokenizer/components.h"
#include "models/tokenizer/unicode.h"
#include "models/tokenizer/detail/vocab.h"

namespace ps::tok {
namespace {

class Bpe : public Model {
 public:
  Bpe(const json& j, const JsonAt& at) : vocab_(read_vocab_map(req(j, "vocab", at), at / "vocab")) {
    if (has(j, "dropout")) {
      const json& d = j.at("dropout");
      if (!d.is_number()) (at / "dropout").fail("expected a number");
      if (d.get<double>() != 0.0) (at / "dropout").fail("BPE dropout is random and not supported");
    }
    if (has(j, "unk_token")) {
      unk_ = get_string(j, "unk_token", at);
      has_unk_ = true;
    }
    prefix_ = get_string_or(j, "continuing_subword_prefix", "", at);
    suffix_ = get_string_or(j, "end_of_word_suffix", "", at);
    fuse_unk_ = get_bool(j, "fuse_unk", false, at);
    byte_fallback_ = get_bool(j, "byte_fallback", false, at);
    ignore_merges_ = get_bool(j, "ignore_merges", false, at);
    if (byte_fallback_)
      for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        byte_ids_[b] = vocab_.token_to_id(name);
      }
    const json& merges = get_array(j, "merges", at);
    // Distinct merges are at most the split points of the merged tokens (sum of their lengths - 1):
    // more means duplicates or a count no trained tokenizer has.
    uint64_t split_points = 0;
    for (auto it = req(j, "vocab", at).begin(); it != req(j, "vocab", at).end(); ++it)
      split_points += it.key().empty() ? 0 : it.key().size() - 1;
    if (merges.size() > split_points)
      (at / "merges").fail(std::to_string(merges.size()) + " merges, more than the " + std::to_string(split_points) +
                           " distinct pairs model.vocab's tokens can be split into");
    merges_.reserve(merges.size() * 2);
    for (size_t i = 0; i < merges.size(); ++i) {
      JsonAt mat = (at / "merges")[i];
      std::string a, b;
      const json& m = merges[i];
      if (m.is_string()) {
        const std::string& s = m.get_ref<const std::string&>();
        size_t sp = s.find(' ');
        if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
          mat.fail("expected \"left right\" (one space), got \"" + s + "\"");
        a = s.substr(0, sp);
        b = s.substr(sp + 1);
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        a = m[0].get<std::string>();
        b = m[1].get<std::string>();
      } else {
        mat.fail("expected a \"left right\" string or a [left, right] pair");
      }
      int32_t ia = vocab_.token_to_id(a), ib = vocab_.token_to_id(b);
      if (ia < 0) mat.fail("merge token '" + a + "' is not in model.vocab");
      if (ib < 0) mat.fail("merge token '" + b + "' is not in model.vocab");
      std::string merged = a + b.substr(std::min(prefix_.size(), b.size()));
      int32_t im = vocab_.token_to_id(merged);
      if (im < 0) mat.fail("merged token '" + merged + "' is not in model.vocab");
      merges_[key(ia, ib)] = {uint32_t(i), im};
    }
    if (has_unk_ && vocab_.token_to_id(unk_) < 0) (at / "unk_token").fail("'" + unk_ + "' is not in model.vocab");
  }

  std::vector<Token> tokenize(const std::string& s) const override {
    std::vector<Token> out;
    if (s.empty()) return out;
    if (ignore_merges_) {
      int32_t id = vocab_.token_to_id(s);
      if (id >= 0) return {Token{id, s, {0, s.size()}}};
    }
    std::vector<Symbol> syms;
    merge_word(s, syms);
    size_t pos = 0;
    for (const Symbol& sym : syms) {
      out.push_back(Token{sym.id, vocab_.id_to_token(sym.id), {pos, pos + sym.len}});
      pos += sym.len;
    }
    return out;
  }

  int32_t token_to_id(const std::string& t) const override { return vocab_.token_to_id(t); }
  std::string id_to_token(int32_t id) const override { return vocab_.id_to_token(id); }
  int32_t vocab_size() const override { return vocab_.size(); }
  const char* type() const override { return "BPE"; }

 private:
  struct Symbol {
    int32_t id;
    long prev, next;
    size_t len;
  };
  struct Merge {
    size_t pos;
    uint32_t rank;
    int32_t new_id;
    bool operator<(const Merge& o) const {  // priority_queue pops the largest: lowest rank, then leftmost
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  static uint64_t key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

  static void add(std::vector<Symbol>& w, int32_t id, size_t len) {
    long n = long(w.size());
    if (n > 0) w.back().next = n;
    w.push_back(Symbol{id, n - 1, -1, len});
  }

  void merge_word(const std::string& s, std::vector<Symbol>& w) const {
    bool have_unk = false;
    int32_t unk_id = has_unk_ ? vocab_.token_to_id(unk_) : -1;
    size_t unk_len = 0;
    std::string piece;
    for (size_t i = 0, n; i < s.size(); i += n) {
      utf8_decode(s, i, &n);
      piece.clear();
      if (i > 0) piece += prefix_;
      piece.append(s, i, n);
      if (i + n == s.size()) piece += suffix_;
      int32_t id = vocab_.token_to_id(piece);
      if (id >= 0) {
        if (have_unk) add(w, unk_id, unk_len), have_unk = false;
        add(w, id, n);
        continue;
      }
      if (byte_fallback_) {
        bool all = true;
        for (unsigned char c : piece) all = all && byte_ids_[c] >= 0;
        if (all) {
          // HF falls back on the bytes of the prefixed piece, each symbol one byte long.
          for (unsigned char c : piece) add(w, byte_ids_[c], 1);
          continue;
        }
      }
      if (has_unk_) {
        if (have_unk && fuse_unk_) {
          unk_len += n;
        } else {
          if (have_unk) add(w, unk_id, unk_len);
          have_unk = true;
          unk_len = n;
        }
      }
    }
    if (have_unk) add(w, unk_id, unk_len);
    merge_all(w);
  }

  const std::pair<uint32_t, int32_t>* find_merge(int32_t a, int32_t b) const {
    auto it = merges_.find(key(a, b));
    return it == merges_.end() ? nullptr : &it->second;
  }

  void merge_all(std::vector<Symbol>& w) const {
    std::priority_queue<Merge> q;
    for (size_t i = 0; i + 1 < w.size(); ++i)
      if (auto m = find_merge(w[i].id, w[i + 1].id)) q.push(Merge{i, m->first, m->second});
    while (!q.empty()) {
      Merge top = q.top();
      q.pop();
      Symbol& cur = w[top.pos];
      if (cur.len == 0 || cur.next == -1) continue;
      size_t next_pos = size_t(cur.next);
      Symbol right = w[next_pos];
      auto m = find_merge(cur.id, right.id);
      if (!m || m->second != top.new_id) continue;  // stale queue entry
      cur.id = top.new_id;
      cur.len += right.len;
      cur.next = right.next;
      w[next_pos].len = 0;
      if (right.next > -1 && size_t(right.next) < w.size()) w[size_t(right.next)].prev = long(top.pos);
      if (cur.prev >= 0) {
        if (auto pm = find_merge(w[size_t(cur.prev)].id, cur.id))
          q.push(Merge{size_t(cur.prev), pm->first, pm->second});
      }
      if (cur.next >= 0 && size_t(cur.next) < w.size()) {
        if (auto nm = find_merge(cur.id, w[size_t(cur.next)].id)) q.push(Merge{top.pos, nm->first, nm->second});
      }
    }
    size_t k = 0;
    for (size_t i = 0; i < w.size(); ++i)
      if (w[i].len != 0) w[k++] = w[i];
    w.resize(k);
  }

  Vocab vocab_;
  std::unordered_map<uint64_t, std::pair<uint32_t, int32_t>> merges_;  // (left, right) -> (rank, merged id)
  std::string unk_, prefix_, suffix_;
  bool has_unk_ = false, fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
  int32_t byte_ids_[256];
};

}  // namespace

std::unique_ptr<Model> make_bpe(const json& j, const JsonAt& at) { return std::make_unique<Bpe>(j, at); }

}  // namespace ps::tok
