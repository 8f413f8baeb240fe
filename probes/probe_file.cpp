// Minimal safetensors for probe files: 8-byte little-endian header length, JSON header (tensors in
// offset order plus __metadata__), raw little-endian F32 data.
#include "probes/probe_file.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::probes {

int64_t F32Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

void write_probe_file(const std::string& path, const ProbeFile& f) {
  nlohmann::json header = nlohmann::json::object();
  nlohmann::json meta = nlohmann::json::object();
  for (const auto& [k, v] : f.meta) meta[k] = v;
  header["__metadata__"] = meta;
  std::string data;
  for (const auto& [name, t] : f.tensors) {  // name order == offset order, as the reference writer does
    if (t.numel() != static_cast<int64_t>(t.data.size()))
      throw InputError(where(path, "tensor '" + name + "': shape does not match its data"));
    const size_t begin = data.size();
    data.append(reinterpret_cast<const char*>(t.data.data()), t.data.size() * sizeof(float));  // little-endian host
    header[name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((static_cast<uint64_t>(h.size()) >> (8 * i)) & 0xff);
  write_file_atomic(path, out + h + data);
}

namespace {
std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}
}  // namespace

ProbeFile read_probe_file(const std::string& path) {
  const std::string buf = read_file(path);
  if (buf.size() < 8) throw InputError(where(path, "too short for a safetensors header"));
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(buf[i])) << (8 * i);
  if (n > buf.size() - 8) throw InputError(where(path, "header length " + std::to_string(n) + " exceeds file size"));
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(buf.substr(8, n));
  } catch (const std::exception& e) {
    throw InputError(where(path, std::string("header is not valid JSON: ") + e.what()));
  }
  if (!header.is_object()) throw InputError(where(path, "header is not a JSON object"));
  const size_t data0 = 8 + n;
  ProbeFile f;
  try {
    if (header.contains("__metadata__"))
      for (const auto& [k, v] : header.at("__metadata__").items()) f.meta[k] = v.get<std::string>();
    for (const auto& [name, t] : header.items()) {
      if (name == "__metadata__") continue;
      if (t.at("dtype").get<std::string>() != "F32") throw InputError(where(path, "tensor '" + name + "': dtype must be F32"));
      F32Tensor x;
      // Only integers: nlohmann's get<int64_t> of a float such as 1e20 is undefined behaviour.
      for (const char* key : {"shape", "data_offsets"})
        if (!t.at(key).is_array() || !std::all_of(t.at(key).begin(), t.at(key).end(), [](const nlohmann::json& v) { return v.is_number_integer(); }))
          throw InputError(where(path, "tensor '" + name + "': " + key + " must be a list of integers"));
      x.shape = t.at("shape").get<std::vector<int64_t>>();
      const auto off = t.at("data_offsets").get<std::vector<uint64_t>>();
      // Each dimension becomes an int (probe sizes) and the element count must fit the file: checked by
      // division, so a product of large dimensions cannot wrap past the test.
      uint64_t numel = 1;
      for (int64_t d : x.shape) {
        if (d <= 0 || d > std::numeric_limits<int32_t>::max())
          throw InputError(where(path, "tensor '" + name + "': bad shape " + shape_text(x.shape)));
        if (numel > buf.size() / sizeof(float) / static_cast<uint64_t>(d))
          throw InputError(where(path, "tensor '" + name + "': shape " + shape_text(x.shape) + " needs more bytes than the file has"));
        numel *= static_cast<uint64_t>(d);
      }
      if (x.shape.empty() || off.size() != 2 || off[0] > off[1] || off[1] > buf.size() - data0 ||
          off[1] - off[0] != numel * sizeof(float))
        throw InputError(where(path, "tensor '" + name + "': bad shape or data_offsets"));
      x.data.resize(numel);
      std::memcpy(x.data.data(), buf.data() + data0 + off[0], numel * sizeof(float));
      f.tensors.emplace(name, std::move(x));
    }
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError(where(path, std::string("malformed safetensors header: ") + e.what()));
  }
  return f;
}

std::map<std::string, std::string> user_metadata(const std::map<std::string, std::string>& meta) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : meta)
    if (k.rfind("ps.", 0) != 0) out[k] = v;
  return out;
}

void check_user_metadata(const std::string& path, const std::map<std::string, std::string>& meta) {
  for (const auto& [k, v] : meta)
    if (k.rfind("ps.", 0) == 0) throw InputError(where(path, "metadata key '" + k + "' is reserved"));
}

}  // namespace ps::probes
