#pragma once
// Internal (probe .cpp files only): a minimal safetensors reader/writer for probe parameters — F32
// tensors plus string metadata — shared by the AST-Probe, structural and linear probe files.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ps::probes {

struct F32Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
  int64_t numel() const;
};

struct ProbeFile {
  std::map<std::string, F32Tensor> tensors;
  std::map<std::string, std::string> meta;  // __metadata__, our "ps.*" keys included
};

// Writes atomically (write_file_atomic). User metadata keys starting with "ps." are rejected by the
// callers before this point; `f.meta` is written as is.
void write_probe_file(const std::string& path, const ProbeFile& f);

// Throws InputError("path: problem") on anything malformed: header, dtype, shapes, offsets.
ProbeFile read_probe_file(const std::string& path);

// The user's part of a file's metadata (keys not starting with "ps.").
std::map<std::string, std::string> user_metadata(const std::map<std::string, std::string>& meta);
// Throws InputError when user metadata uses a reserved "ps." key.
void check_user_metadata(const std::string& path, const std::map<std::string, std::string>& meta);

}  // namespace ps::probes
