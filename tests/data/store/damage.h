#pragma once
// Planting damage in a finished store for the integrity tests: bytes zeroed as a bad disk block would,
// and metadata edited through HDF5 the way a corrupt or hostile file could carry it.
#include <cstdint>
#include <string>

namespace ps::store::testing {

void zero_bytes(const std::string& file, int64_t offset, int64_t n);
// File offset and size of the chunk of `dataset` that holds `row`.
struct ChunkAt {
  int64_t addr = 0, size = 0;
};
ChunkAt chunk_at(const std::string& file, const std::string& dataset, int64_t row);

void set_root_i64(const std::string& file, const std::string& attr, int64_t v);
void set_i64(const std::string& file, const std::string& dataset, int64_t row, int64_t v);  // one element of a 1-D int64 dataset
int64_t get_i64(const std::string& file, const std::string& dataset, int64_t row);
void set_extent(const std::string& file, const std::string& dataset, int64_t rows);  // dim 0, no data written
// Replaces `dataset` by an empty-chunked one of shape [rows, width] with the same dtype attribute.
void replace_wide(const std::string& file, const std::string& dataset, int64_t rows, int64_t width);
// Rewrites a dataset's variable-length string attribute (e.g. a column's "dtype").
void set_str_attr(const std::string& file, const std::string& dataset, const std::string& attr, const std::string& value);
// Deletes every checksum attribute: the file then looks like a store from before checksums were kept.
void strip_checksums(const std::string& file);

}  // namespace ps::store::testing
