// Unigram (SentencePiece) model: Viterbi over all vocab pieces that match at each char position, scores
// are log-probs; chars no piece covers become unk with score min_score - 10, consecutive unks fuse,
// and with byte_fallback an unknown piece becomes its <0xNN> byte tokens (each spanning the piece).
// A port of HF's Unigram::encode_optimized, including its tie-breaking (first best path wins).
#include <cstdio>
#include <limits>
#include <unordered_map>

#include "models/tokenizer/unicode.h"
#include "models/tokenizer/detail/vocab.h"
#include "models/util/error.h"

namespace ps::tok {
namespace {

class Unigram : public Model {
 public:
  Unigram(const json& j, const JsonAt& at) {
    const json& v = get_array(j, "vocab", at);
    min_score_ = std::numeric_limits<double>::infinity();
    nodes_.push_back(Node{});
    for (size_t i = 0; i < v.size(); ++i) {
      const json& e = v[i];
      if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number())
        (at / "vocab")[i].fail("expected [token, score]");
      std::string t = e[0].get<std::string>();
      double score = e[1].get<double>();
      vocab_.add(t, int32_t(i));
      pieces_.push_back(t);
      scores_.push_back(score);
      min_score_ = std::min(min_score_, score);
      insert(t);
    }
    if (has(j, "unk_id")) {
      int64_t u = get_int(j, "unk_id", at);
      if (v.empty()) (at / "vocab").fail("empty, but unk_id needs at least the unk token");
      if (u < 0 || size_t(u) >= v.size()) (at / "unk_id").fail("out of range of model.vocab");
      unk_id_ = int32_t(u);
    }
    byte_fallback_ = get_bool(j, "byte_fallback", false, at);
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      byte_ids_[b] = vocab_.token_to_id(name);
    }
  }

  std::vector<Token> tokenize(const std::string& s) const override {
    std::vector<Token> out;
    size_t offset = 0;
    for (const std::string& piece : encode(s)) {
      size_t len = piece.size();
      int32_t id = vocab_.token_to_id(piece);
      if (id < 0) {
        if (byte_fallback_) {
          bool all = true;
          for (unsigned char c : piece) all = all && byte_ids_[c] >= 0;
          if (all) {
            for (unsigned char c : piece) out.push_back(Token{byte_ids_[c], vocab_.id_to_token(byte_ids_[c]), {offset, offset + len}});
            offset += len;
            continue;
          }
        }
        if (unk_id_ < 0) throw RuntimeError("Unigram: unknown piece but the model has no unk_id");
        id = unk_id_;
      }
      out.push_back(Token{id, piece, {offset, offset + len}});
      offset += len;
    }
    return out;
  }

  int32_t token_to_id(const std::string& t) const override { return vocab_.token_to_id(t); }
  std::string id_to_token(int32_t id) const override {
    return id >= 0 && size_t(id) < pieces_.size() ? pieces_[size_t(id)] : std::string();
  }
  int32_t vocab_size() const override { return int32_t(pieces_.size()); }
  const char* type() const override { return "Unigram"; }

 private:
  struct Node {
    std::unordered_map<unsigned char, uint32_t> next;
    bool terminal = false;
  };
  void insert(const std::string& t) {
    uint32_t n = 0;
    for (unsigned char c : t) {
      auto it = nodes_[n].next.find(c);
      if (it == nodes_[n].next.end()) {
        nodes_.push_back(Node{});
        uint32_t child = uint32_t(nodes_.size() - 1);
        nodes_[n].next[c] = child;
        n = child;
      } else {
        n = it->second;
      }
    }
    nodes_[n].terminal = true;
  }

  std::vector<std::string> encode(const std::string& s) const {
    struct Best {
      int32_t id = 0;
      double score = 0;
      long start = -1;
    };
    std::vector<std::string> out;
    if (s.empty()) return out;
    const double unk_score = min_score_ - 10.0;
    std::vector<Best> best(s.size() + 1);
    for (size_t start = 0, mblen; start < s.size(); start += mblen) {
      utf8_decode(s, start, &mblen);
      double here = best[start].score;
      bool single = false;
      uint32_t n = 0;
      for (size_t k = start; k < s.size(); ++k) {  // common-prefix search in the trie
        auto it = nodes_[n].next.find(static_cast<unsigned char>(s[k]));
        if (it == nodes_[n].next.end()) break;
        n = it->second;
        if (!nodes_[n].terminal) continue;
        size_t end = k + 1;
        int32_t id = vocab_.token_to_id(s.substr(start, end - start));
        double cand = scores_[size_t(id)] + here;
        Best& t = best[end];
        if (t.start < 0 || cand > t.score) t = Best{id, cand, long(start)};
        if (end - start == mblen) single = true;
      }
      if (!single) {
        Best& t = best[start + mblen];
        double cand = unk_score + here;
        if (t.start < 0 || cand > t.score) {
          if (unk_id_ < 0) throw RuntimeError("Unigram: unknown character but the model has no unk_id");
          t = Best{unk_id_, cand, long(start)};
        }
      }
    }
    // Backtrack, fusing consecutive unks.
    std::vector<std::string> unk_run;
    for (size_t end = s.size(); end > 0;) {
      const Best& b = best[end];
      size_t start = size_t(b.start);
      std::string piece = s.substr(start, end - start);
      if (unk_id_ >= 0 && b.id == unk_id_) {
        unk_run.push_back(piece);
      } else {
        if (!unk_run.empty()) out.push_back(join_reversed(unk_run));
        out.push_back(piece);
      }
      end = start;
    }
    if (!unk_run.empty()) out.push_back(join_reversed(unk_run));
    return {out.rbegin(), out.rend()};
  }
  static std::string join_reversed(std::vector<std::string>& v) {
    std::string r;
    for (auto it = v.rbegin(); it != v.rend(); ++it) r += *it;
    v.clear();
    return r;
  }

  Vocab vocab_;
  std::vector<std::string> pieces_;
  std::vector<double> scores_;
  std::vector<Node> nodes_;
  double min_score_;
  int32_t unk_id_ = -1;
  bool byte_fallback_ = false;
  int32_t byte_ids_[256];
};

}  // namespace

std::unique_ptr<Model> make_unigram(const json& j, const JsonAt& at) { return std::make_unique<Unigram>(j, at); }

std::unique_ptr<Model> make_model(const json& j, const JsonAt& at) {
  std::string type;
  if (has(j, "type")) {
    type = type_of(j, at);
  } else if (j.is_object() && j.contains("merges")) {
    type = "BPE";  // older files omit the tag; HF infers the model from its fields
  } else if (j.is_object() && j.contains("vocab") && j.at("vocab").is_array()) {
    type = "Unigram";
  } else {
    (at / "type").fail("missing, and the model's fields do not identify it");
  }
  if (type == "BPE") return make_bpe(j, at);
  if (type == "WordPiece") return make_wordpiece(j, at);
  if (type == "Unigram") return make_unigram(j, at);
  (at / "type").fail("unsupported model type '" + type + "'");
}

}  // namespace ps::tok
