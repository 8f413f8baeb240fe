#pragma once
// Plain data exchanged with the activation store: element types, row blocks, snippets and batches.
// No HDF5 here, so callers (the extraction pipeline, probes) include this without the C API.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ps::store {

// Element types. On disk: f32 = IEEE float32, f16 = IEEE half (h5py reads '<f2'),
// bf16 = uint16 bits with attribute dtype="bfloat16" (h5py has no bfloat16), i32/i64 = signed ints.
enum class DType : uint8_t { f32, f16, bf16, i32, i64 };
const char* dtype_name(DType t);  // "float32", "float16", "bfloat16", "int32", "int64"
DType parse_dtype(const std::string& s);  // throws InputError on an unknown name
size_t dtype_size(DType t);
inline bool is_float(DType t) { return t == DType::f32 || t == DType::f16 || t == DType::bf16; }
// float_to_half (half.h) over an array, bit for bit; F16C where the CPU has it.
void floats_to_halves(const float* src, uint16_t* dst, int64_t n);

// rows x width values of one element type, row-major. width 0 = one scalar per row (a 1-D column).
struct Block {
  DType type = DType::f32;
  int64_t width = 0;
  std::vector<uint8_t> bytes;

  Block() = default;
  Block(DType t, int64_t w) : type(t), width(w) {}
  size_t row_bytes() const { return dtype_size(type) * size_t(width > 0 ? width : 1); }
  int64_t rows() const { return int64_t(bytes.size() / row_bytes()); }
  int64_t values() const { return int64_t(bytes.size() / dtype_size(type)); }
  // Append n_rows rows; the pointer type must match `type` (uint16_t for f16/bf16 bits) or it throws.
  void append(const float* p, int64_t n_rows);
  void append(const uint16_t* p, int64_t n_rows);
  void append(const int32_t* p, int64_t n_rows);
  void append(const int64_t* p, int64_t n_rows);
  template <class T>
  const T* data() const { return reinterpret_cast<const T*>(bytes.data()); }
  // Every value converted to float / int64 (float types decode fp16/bf16; ints widen).
  std::vector<float> to_floats() const;
  std::vector<int64_t> to_ints() const;
  // Same values re-encoded as `to` (float<->float only; fp32->fp16/bf16 rounds to nearest even).
  Block converted(DType to) const;
};

// Which flat table an activation's rows index: per subword token or per word (code token).
enum class Rows : uint8_t { tokens, words };
const char* rows_name(Rows r);  // "tokens" / "words"

// Activation name convention: "tokens/layer_{L}" (raw per-subword hidden_states[L]) and
// "words/layer_{L}" (per-word vectors pooled from subwords); stored at /acts/{name}.
std::string act_name(Rows r, int layer);

// Attention patterns are an extra table named attn_table(L) = "attn/layer_{L}" with one 1-D float column
// "pattern": snippet i contributes heads*n*n rows, its [head, q, k] pattern row-major (n = its token count).
std::string attn_table(int layer);

// One batch's rows of one activation, in snippet order (Σ tokens or Σ words over the batch).
// data.type is what the caller has (f32, f16 or bf16 bits); `store` is the on-disk type.
struct ActBlock {
  Rows rows = Rows::tokens;
  DType store = DType::f16;
  Block data;
};

// An extra ragged per-snippet table (e.g. structural-probe parents/depths, attention patterns):
// counts[k] rows for snippet k; every column holds Σ counts rows.
struct TableBlock {
  std::vector<int64_t> counts;
  std::map<std::string, Block> columns;
};

struct Span {
  int64_t begin = 0, end = 0;  // half-open [begin, end)
  bool operator==(const Span& o) const { return begin == o.begin && end == o.end; }
};

struct Snippet {
  std::string id;
  std::vector<int32_t> input_ids;     // T subword ids
  std::vector<Span> char_spans;       // T byte spans into the snippet text
  std::vector<Span> word_spans;       // W byte spans of words (code tokens)
  std::vector<Span> word_subwords;    // W token ranges, relative to this snippet's first token
  // AST-Probe labels (only when the batch has syntax): |d| = |c| = max(W-1, 0), |u| = W.
  std::vector<int32_t> syn_d;
  std::vector<std::string> syn_c, syn_u;
};

struct SnippetBatch {
  std::vector<Snippet> snippets;
  bool with_syntax = false;
  std::map<std::string, ActBlock> acts;      // by act name, e.g. act_name(Rows::words, 3)
  std::map<std::string, TableBlock> tables;  // by table name, e.g. "structural" or "attn/layer_3"
};

// Manifest keys the tools fill in; any other string keys are allowed too.
namespace key {
inline constexpr const char* model_path = "model_path";
inline constexpr const char* model_hash = "model_hash";
inline constexpr const char* dtype = "dtype";
inline constexpr const char* device = "device";
inline constexpr const char* packing = "packing";
inline constexpr const char* tool_version = "tool_version";
inline constexpr const char* seed = "seed";
inline constexpr const char* corpus_hash = "corpus_hash";
inline constexpr const char* created_at = "created_at";  // never compared on resume/merge
inline constexpr const char* settings_hash = "settings_hash";
inline constexpr const char* shard = "shard";  // "i/N"; may differ between shards being merged
}  // namespace key

using Manifest = std::map<std::string, std::string>;

// Float matrix returned by readers (row-major).
struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<float> data;
  const float* row(int64_t r) const { return data.data() + r * cols; }
};

}  // namespace ps::store
