#pragma once
// Private state of StoreReader, shared by reader.cpp (opening, reads) and reader_verify.cpp (verify()).
#include <map>
#include <string>
#include <vector>

#include "data/store/h5.h"
#include "data/store/integrity.h"
#include "data/store/layout.h"
#include "data/store/ragged.h"
#include "data/store/reader.h"
#include "models/util/error.h"

namespace ps::store {

namespace L = layout;

struct StoreReader::Impl {
  h5::Ctx ctx;
  h5::Handle file;  // first: closed last
  Manifest manifest;
  bool complete = false;
  int64_t n = 0;
  h5::Handle ids;
  RaggedTable tokens{"tokens", L::kTokenOffsets}, words{"words", L::kWordOffsets}, syntax{"syntax", L::kSyntaxOffsets};
  std::map<std::string, RaggedTable> extras;
  L::Schema schema;
  std::vector<std::string> c_vocab, u_vocab;
  bool checksums = false;  // a finished store that keeps digests (integrity.h); false for older stores
  DatasetCheck ids_check;

  void check_sample(int64_t i) const {
    if (i < 0 || i >= n)
      throw InputError(where(ctx.file, "sample " + std::to_string(i) + " out of range (" + std::to_string(n) +
                                           " committed samples)"));
  }
  const RaggedTable& act_table(const std::string& name) const {
    auto it = schema.acts.find(name);
    if (it == schema.acts.end()) throw InputError(where(ctx.file, "no activation '" + name + "'"));
    return it->second.rows == Rows::tokens ? tokens : words;
  }
  // CorruptStore unless every column's dataset has the type and width that schema_json gives it
  // (callers size buffers from the schema).
  void check_schema() const;
  const RaggedTable& extra(const std::string& t) const {
    auto it = extras.find(t);
    if (it == extras.end()) throw InputError(where(ctx.file, "no table '" + t + "'"));
    return it->second;
  }
};

}  // namespace ps::store
