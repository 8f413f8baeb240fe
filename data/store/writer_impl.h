#pragma once
// Private state of StoreWriter, shared by writer.cpp (open/create) and writer_append.cpp (append/commit).
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/store/h5.h"
#include "data/store/layout.h"
#include "data/store/ragged.h"
#include "data/store/writer.h"

namespace ps::store {

// A label vocabulary grown by interning; entries past `committed` are written at the next commit.
struct Vocab {
  std::vector<std::string> items;
  std::unordered_map<std::string, int32_t> index;
  int64_t committed = 0;
  h5::Handle ds;
  int32_t intern(const std::string& s) {
    auto [it, fresh] = index.emplace(s, int32_t(items.size()));
    if (fresh) items.push_back(s);
    return it->second;
  }
};

struct StoreWriter::Impl {
  h5::Ctx ctx;
  h5::Handle file;  // declared first: closed after every dataset handle below
  WriterOptions opts;
  Manifest manifest;
  bool resumed = false, finished = false, broken = false, schema_dirty = false;
  int64_t committed = 0, samples = 0;
  h5::Handle ids;
  RaggedTable tokens{"tokens", layout::kTokenOffsets}, words{"words", layout::kWordOffsets}, syntax{"syntax", layout::kSyntaxOffsets};
  std::map<std::string, RaggedTable> extras;
  layout::Schema schema;
  Vocab c_vocab, u_vocab;

  void create_file(const std::string& path, const Manifest& m);
  void open_file(const Manifest& m);
  void open_schema_parts();
  void create_schema_parts(const layout::Schema& s);
  void append_impl(const SnippetBatch& b);
};


}  // namespace ps::store
