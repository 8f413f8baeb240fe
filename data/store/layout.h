#pragma once
// File layout shared by writer and reader: dataset paths, root attribute names, and the schema
// (which activations / tables / syntax a store holds) kept as JSON in the root attribute schema_json.
#include <map>
#include <string>

#include "data/store/types.h"

namespace ps::store::layout {

inline constexpr const char* kFormat = "probescope-store";
inline constexpr int64_t kFormatVersion = 1;

// Root attributes we own; manifest keys may not use these names.
inline constexpr const char* kAttrFormat = "format";
inline constexpr const char* kAttrVersion = "format_version";
inline constexpr const char* kAttrCommitted = "committed_samples";
inline constexpr const char* kAttrComplete = "complete";
inline constexpr const char* kAttrManifest = "manifest_json";
inline constexpr const char* kAttrSchema = "schema_json";
inline constexpr const char* kAttrUid = "store_uid";  // random id tying the file to its crash journal

inline constexpr const char* kIds = "/samples/ids";
inline constexpr const char* kTokenOffsets = "/samples/token_offsets";
inline constexpr const char* kWordOffsets = "/samples/word_offsets";
inline constexpr const char* kInputIds = "/tokens/input_ids";
inline constexpr const char* kCharSpans = "/tokens/char_spans";
inline constexpr const char* kWordSpans = "/words/spans";
inline constexpr const char* kSubwordSpans = "/words/subword_spans";
inline constexpr const char* kSyntaxOffsets = "/syntax/offsets";
inline constexpr const char* kSyntaxD = "/syntax/d";
inline constexpr const char* kSyntaxC = "/syntax/c";
inline constexpr const char* kSyntaxU = "/syntax/u";  // per word: indexed by /samples/word_offsets
inline constexpr const char* kCVocab = "/syntax/c_vocab";
inline constexpr const char* kUVocab = "/syntax/u_vocab";

inline std::string act_path(const std::string& name) { return "/acts/" + name; }
inline std::string table_offsets_path(const std::string& t) { return "/tables/" + t + "/offsets"; }
inline std::string table_column_path(const std::string& t, const std::string& col) { return "/tables/" + t + "/" + col; }

bool is_reserved_attr(const std::string& name);
// Throws InputError unless `name` is a safe relative HDF5 path ([A-Za-z0-9_.-] segments joined by '/').
void check_name(const std::string& file, const std::string& what, const std::string& name, bool allow_slash);

struct Schema {
  struct Col {
    DType type = DType::f32;
    int64_t width = 0;
    bool operator==(const Col& o) const { return type == o.type && width == o.width; }
  };
  struct Act {
    Rows rows = Rows::tokens;
    Col col;
    bool operator==(const Act& o) const { return rows == o.rows && col == o.col; }
  };
  bool syntax = false;
  std::map<std::string, Act> acts;
  std::map<std::string, std::map<std::string, Col>> tables;

  bool empty() const { return !syntax && acts.empty() && tables.empty(); }
  std::string to_json() const;
  static Schema from_json(const std::string& file, const std::string& text);  // InputError if malformed
  static Schema of_batch(const SnippetBatch& b);
  // "" when equal, else the first difference, phrased for an error message.
  std::string diff(const Schema& file_schema) const;
};

}  // namespace ps::store::layout
