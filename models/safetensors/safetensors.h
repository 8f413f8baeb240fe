#pragma once
// safetensors (https://huggingface.co/docs/safetensors) reader and writer, without LibTorch.
// Layout: u64 little-endian header length N, N bytes of JSON header, then the data buffer.
// Every offset, length and shape is bounds-checked; errors are InputError("file: tensor 'x': problem").
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/util/files.h"

namespace ps::st {

enum class DType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL };

size_t dtype_size(DType d);
const char* dtype_name(DType d);        // "F32", "BF16", ... as in the format
DType dtype_from_name(const std::string& name, const std::string& context);  // throws InputError

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  // Points into the mapped file (valid while the File lives). NOT aligned in general (other writers need
  // not pad the header to 8 bytes): copy with memcpy, never cast to float* / int64_t*.
  const uint8_t* data;
  size_t nbytes;
  int64_t numel() const;  // 1 for a scalar (shape []), 0 if any dimension is 0
};

// A floating-point tensor (F32, F16, BF16, F64) converted to float32, little-endian host; other dtypes
// throw InputError. For consumers without LibTorch (tests, probes); the Engine copies raw bytes instead.
std::vector<float> to_float(const TensorInfo& t);

// s with control characters escaped (\x0a) and cut after max_len bytes, for one-line error messages.
std::string printable(const std::string& s, size_t max_len = 120);

class File {
 public:
  // Maps and validates the whole header: offsets in range, sizes match dtype*shape, and the tensors
  // tile the data buffer exactly (no overlaps, no gaps), as the reference implementation requires.
  static File open(const std::string& path);
  // Parses an in-memory buffer (used by the fuzzer and by open); buffer must outlive the File.
  // Duplicate JSON keys (two tensors with one name) are rejected rather than silently merged.
  static File parse(const uint8_t* data, size_t size, const std::string& source_name);

  const TensorInfo* find(const std::string& name) const;  // nullptr if absent
  const TensorInfo& at(const std::string& name) const;    // throws InputError naming the tensor
  std::vector<std::string> names() const;                 // sorted
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& source() const { return source_; }

 private:
  static void check_tiling(const File& f, const uint8_t* buffer, uint64_t buffer_size);
  std::shared_ptr<MappedFile> map_;
  std::string source_;
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

struct TensorData {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::string bytes;  // raw little-endian element bytes, size = numel*dtype_size
};

// Writes atomically (tmp + rename). Tensors are laid out in name order with 8-byte-aligned header.
void write(const std::string& path, const std::vector<TensorData>& tensors,
           const std::map<std::string, std::string>& metadata = {});

// model.safetensors, or the shards named by model.safetensors.index.json ("weight_map"), sorted and
// deduplicated. Throws InputError if neither exists, the index is malformed or names a non-plain file.
std::vector<std::string> checkpoint_files(const std::string& model_dir);

// All shards of a checkpoint as one name space (a name in two shards is an error, and so is an index
// entry whose tensor is not in the shard the index names).
class Checkpoint {
 public:
  explicit Checkpoint(const std::string& model_dir);
  const std::string& dir() const { return dir_; }
  const TensorInfo* find(const std::string& name) const;
  const TensorInfo& at(const std::string& name) const;
  std::vector<std::string> names() const;
  const std::vector<File>& shards() const { return shards_; }

 private:
  std::string dir_;
  std::vector<File> shards_;
  std::map<std::string, size_t> where_;
};

}  // namespace ps::st
