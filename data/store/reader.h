#pragma once
// Read-only access to a store's committed rows (rows past committed_samples are never visible).
// Thread-safe: every call takes the process-wide HDF5 lock (Debian's HDF5 is the serial build).
// A file still held open by a writer in another process cannot be opened (HDF5 file locking).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "data/store/types.h"

namespace ps::store {

struct TokenData {
  std::vector<int32_t> input_ids;
  std::vector<Span> char_spans;
};
struct WordData {
  std::vector<Span> spans;     // byte spans
  std::vector<Span> subwords;  // token ranges relative to the snippet's first token
};
struct SyntaxData {
  std::vector<int32_t> d;  // W-1 LCA heights
  std::vector<int32_t> c;  // W-1 ids into c_vocab()
  std::vector<int32_t> u;  // W ids into u_vocab()
};
struct ColumnInfo {
  DType dtype = DType::f32;
  int64_t width = 0;  // 0 = one scalar per row
};
struct ActInfo {
  Rows rows = Rows::tokens;
  ColumnInfo col;
};

struct VerifyReport {
  bool checksums = false;  // every dataset matched its digest; false: an older store (no digests): structure only
  int64_t datasets = 0;    // datasets checked
};

class StoreReader {
 public:
  // InputError (one line, naming the file) if missing, not HDF5, not a store; CorruptStore (integrity.h)
  // if structurally corrupt: offsets backwards or past the end, sizes the file does not hold. Nothing is
  // allocated for a claimed size before it is checked against the file.
  explicit StoreReader(const std::string& path);
  ~StoreReader();
  StoreReader(const StoreReader&) = delete;
  StoreReader& operator=(const StoreReader&) = delete;

  const std::string& path() const;
  const Manifest& manifest() const;
  // Manifest fields, with the rules of manifest_fields.h (every face labels a store the same way).
  std::string model_label() const;  // manifest model_label, else the file's stem
  std::string language() const;     // manifest language, "" when absent
  int n_layers() const;             // model blocks (hidden states 0..n_layers), 0 when absent
  std::string layer_label(int layer) const;  // "4 (ln_f)" for the final norm's output, else "4"
  // "all" or "0,4,-1" among the layers stored for rows r (or among `stored`, e.g. attention tables):
  // negative counts from the model's last hidden state; each must be stored (InputError naming this store
  // and listing the stored layers). Order as given, duplicates dropped.
  std::vector<int> resolve_layers(const std::string& spec, Rows r = Rows::words) const;
  std::vector<int> resolve_layers(const std::string& spec, const std::vector<int>& stored) const;
  bool complete() const;         // the writer called finish()
  // The store keeps checksums (finished by this build or later): every read is verified, each dataset
  // in full the first time it is read (CorruptStore "file: dataset: checksum mismatch ..." if damaged).
  bool has_checksums() const;
  // Checks the whole store now: every dataset against its checksum, and the structure beyond what
  // opening checks (syntax rows per snippet, subword ranges inside their snippet, label ids inside
  // their vocabularies). CorruptStore naming the dataset on the first failure.
  VerifyReport verify() const;
  int64_t num_samples() const;   // committed snippets
  int64_t num_tokens() const;    // committed rows of the per-token tables
  int64_t num_words() const;     // committed rows of the per-word tables

  std::string id(int64_t i) const;
  std::vector<std::string> ids(int64_t begin, int64_t end) const;
  Span token_range(int64_t i) const;  // snippet i's rows in /tokens/* and token activations
  Span word_range(int64_t i) const;   // snippet i's rows in /words/* and word activations
  const std::vector<int64_t>& token_offsets() const;  // [N+1]
  const std::vector<int64_t>& word_offsets() const;   // [N+1]
  TokenData tokens(int64_t i) const;
  WordData words(int64_t i) const;

  std::vector<std::string> act_names() const;
  bool has_act(const std::string& name) const;
  ActInfo act_info(const std::string& name) const;
  std::vector<int> layers(Rows r) const;  // L for which act_name(r, L) exists, ascending
  Matrix acts(const std::string& name, int64_t i) const;  // snippet i's rows, decoded to float
  Matrix acts_rows(const std::string& name, int64_t row_begin, int64_t row_end) const;
  Block acts_raw(const std::string& name, int64_t row_begin, int64_t row_end) const;  // stored encoding
  // All committed rows of one activation, read in large slabs: what probes load per layer.
  Matrix load_act(const std::string& name) const;
  Matrix load_layer_words(int layer) const { return load_act(act_name(Rows::words, layer)); }
  Matrix load_layer_tokens(int layer) const { return load_act(act_name(Rows::tokens, layer)); }

  bool has_syntax() const;
  SyntaxData syntax(int64_t i) const;
  const std::vector<std::string>& c_vocab() const;
  const std::vector<std::string>& u_vocab() const;

  std::vector<std::string> table_names() const;
  std::map<std::string, ColumnInfo> table_columns(const std::string& table) const;
  Span table_range(const std::string& table, int64_t i) const;
  Block table(const std::string& table, const std::string& column, int64_t i) const;  // use to_ints()/to_floats()

  // Snippets [begin, end) as a batch that StoreWriter::append accepts unchanged: activations keep their
  // stored encoding, syntax labels come back as strings. Used by merge and for whole-store comparisons.
  SnippetBatch read_batch(int64_t begin, int64_t end) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ps::store
