#pragma once
// Joins shard stores (from `extract --shard i/N`) into one store by copying their committed rows in
// shard order. Copying (rather than HDF5 virtual datasets) keeps the result a self-contained file
// that plain h5py and our reader open without the shards, and lets the syntax vocabularies (whose ids
// differ per shard) be re-interned; the cost is one extra pass over the bytes.
#include <string>
#include <vector>

#include "data/store/writer.h"

namespace ps::store {

struct MergeOptions {
  bool overwrite = false;        // replace an existing output file
  int gzip = 0;                  // compression of the output's activations
  int64_t rows_per_batch = 65536;  // token rows copied per append/commit
};

// Every shard is verified first (StoreReader::verify: checksums and structure; CorruptStore naming the shard
// and dataset). InputError if a shard is missing, incomplete (its writer did not finish), or its manifest differs from
// the first shard's in any field but "shard" and "created_at". The output manifest is the first shard's
// without "shard", plus "merged_shards" = the shard count.
void merge_stores(const std::string& out, const std::vector<std::string>& shards, const MergeOptions& opts = {});

}  // namespace ps::store
