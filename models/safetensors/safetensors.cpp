#include "models/safetensors/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "models/util/error.h"

namespace ps::st {

namespace {
constexpr uint64_t kMaxHeader = 100ull << 20;  // the reference implementation's limit

[[noreturn]] void header_error(const std::string& src, const std::string& problem) {
  throw InputError(src + ": header: " + problem);
}
[[noreturn]] void tensor_error(const std::string& src, const std::string& name, const std::string& problem) {
  throw InputError(src + ": tensor '" + name + "': " + problem);
}
}  // namespace

size_t dtype_size(DType d) {
  switch (d) {
    case DType::F64: case DType::I64: return 8;
    case DType::F32: case DType::I32: return 4;
    case DType::F16: case DType::BF16: case DType::I16: return 2;
    case DType::I8: case DType::U8: case DType::BOOL: return 1;
  }
  return 0;
}

const char* dtype_name(DType d) {
  switch (d) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::F64: return "F64";
    case DType::I64: return "I64";
    case DType::I32: return "I32";
    case DType::I16: return "I16";
    case DType::I8: return "I8";
    case DType::U8: return "U8";
    case DType::BOOL: return "BOOL";
  }
  return "?";
}

DType dtype_from_name(const std::string& name, const std::string& context) {
  for (DType d : {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I64, DType::I32, DType::I16, DType::I8,
                  DType::U8, DType::BOOL})
    if (name == dtype_name(d)) return d;
  throw InputError(context + ": unsupported dtype '" + name + "'");
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

File File::open(const std::string& path) {
  auto map = std::make_shared<MappedFile>(path);
  File f = parse(map->data(), map->size(), path);
  f.map_ = std::move(map);
  return f;
}

File File::parse(const uint8_t* data, size_t size, const std::string& src) {
  if (size < 8) header_error(src, "file is " + std::to_string(size) + " bytes, too short for the 8-byte length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];
  if (n > kMaxHeader) header_error(src, "length " + std::to_string(n) + " exceeds the 100 MB limit");
  if (n > size - 8) header_error(src, "length " + std::to_string(n) + " runs past the end of the file (" +
                                         std::to_string(size) + " bytes)");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(data + 8, data + 8 + n);
  } catch (const nlohmann::json::exception& e) {
    std::string msg = e.what();
    header_error(src, "invalid JSON (" + msg.substr(0, msg.find('\n')) + ")");
  }
  if (!header.is_object()) header_error(src, "not a JSON object");

  File f;
  f.source_ = src;
  const uint8_t* buffer = data + 8 + n;
  const uint64_t buffer_size = size - 8 - n;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  std::vector<std::string> range_names;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) header_error(src, "__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) header_error(src, "__metadata__ value '" + m.key() + "' is not a string");
        f.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object()) tensor_error(src, name, "entry is not an object");
    if (!v.contains("dtype") || !v["dtype"].is_string()) tensor_error(src, name, "missing string field 'dtype'");
    if (!v.contains("shape") || !v["shape"].is_array()) tensor_error(src, name, "missing array field 'shape'");
    if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
      tensor_error(src, name, "field 'data_offsets' must be [begin, end]");
    TensorInfo t;
    t.name = name;
    t.dtype = dtype_from_name(v["dtype"].get<std::string>(), src + ": tensor '" + name + "'");
    uint64_t numel = 1;
    for (const auto& s : v["shape"]) {
      if (!s.is_number_unsigned()) tensor_error(src, name, "shape entries must be non-negative integers");
      const uint64_t dim = s.get<uint64_t>();
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          (dim != 0 && numel > std::numeric_limits<uint64_t>::max() / dim / 8))
        tensor_error(src, name, "shape overflows");
      numel *= dim;
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    for (const auto& o : v["data_offsets"])
      if (!o.is_number_unsigned()) tensor_error(src, name, "data_offsets must be non-negative integers");
    const uint64_t begin = v["data_offsets"][0].get<uint64_t>(), end = v["data_offsets"][1].get<uint64_t>();
    if (begin > end) tensor_error(src, name, "data_offsets begin > end");
    if (end > buffer_size)
      tensor_error(src, name, "data_offsets end " + std::to_string(end) + " is past the data buffer (" +
                                  std::to_string(buffer_size) + " bytes; file truncated?)");
    if (end - begin != numel * dtype_size(t.dtype))
      tensor_error(src, name, "holds " + std::to_string(end - begin) + " bytes but dtype x shape needs " +
                                  std::to_string(numel * dtype_size(t.dtype)));
    t.data = buffer + begin;
    t.nbytes = static_cast<size_t>(end - begin);
    ranges.emplace_back(begin, end);
    range_names.push_back(name);
    f.tensors_.emplace(name, std::move(t));
  }
  // The tensors must tile the buffer: sorted by offset, each starts where the previous ended.
  std::vector<size_t> order(ranges.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ranges[a] < ranges[b]; });
  uint64_t expect = 0;
  for (size_t i : order) {
    if (ranges[i].first < expect) tensor_error(src, range_names[i], "overlaps the previous tensor");
    if (ranges[i].first > expect) tensor_error(src, range_names[i], "leaves a gap before it in the data buffer");
    expect = ranges[i].second;
  }
  if (expect != buffer_size)
    header_error(src, "data buffer has " + std::to_string(buffer_size - expect) + " trailing bytes no tensor covers");
  return f;
}

const TensorInfo* File::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

const TensorInfo& File::at(const std::string& name) const {
  if (const auto* t = find(name)) return *t;
  throw InputError(source_ + ": tensor '" + name + "': missing");
}

std::vector<std::string> File::names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : tensors_) out.push_back(k);
  return out;
}

void write(const std::string& path, const std::vector<TensorData>& tensors,
           const std::map<std::string, std::string>& metadata) {
  std::vector<const TensorData*> sorted;
  for (const auto& t : tensors) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->name < b->name; });
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t off = 0;
  for (const auto* t : sorted) {
    uint64_t numel = 1;
    for (int64_t s : t->shape) {
      if (s < 0) throw InputError(path + ": tensor '" + t->name + "': negative dimension");
      numel *= static_cast<uint64_t>(s);
    }
    if (t->bytes.size() != numel * dtype_size(t->dtype))
      throw InputError(path + ": tensor '" + t->name + "': " + std::to_string(t->bytes.size()) +
                       " bytes given, dtype x shape needs " + std::to_string(numel * dtype_size(t->dtype)));
    if (header.contains(t->name)) throw InputError(path + ": tensor '" + t->name + "': duplicate name");
    header[t->name] = {{"dtype", dtype_name(t->dtype)}, {"shape", t->shape}, {"data_offsets", {off, off + t->bytes.size()}}};
    off += t->bytes.size();
  }
  std::string h = header.dump();
  while (h.size() % 8) h.push_back(' ');  // 8-byte alignment of the data buffer, as the reference writer does
  std::string out(8, '\0');
  const uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out += h;
  out.reserve(out.size() + off);
  for (const auto* t : sorted) out += t->bytes;
  write_file_atomic(path, out);
}

std::vector<std::string> checkpoint_files(const std::string& model_dir) {
  const std::string single = model_dir + "/model.safetensors";
  if (file_exists(single)) return {single};
  const std::string index = model_dir + "/model.safetensors.index.json";
  if (!file_exists(index))
    throw InputError(model_dir + ": no model.safetensors or model.safetensors.index.json "
                     "(PyTorch .bin checkpoints are not read; convert them to safetensors)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(index));
  } catch (const nlohmann::json::exception& e) {
    std::string msg = e.what();
    throw InputError(index + ": invalid JSON (" + msg.substr(0, msg.find('\n')) + ")");
  }
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    throw InputError(index + ": field 'weight_map': missing or not an object");
  std::vector<std::string> files;
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    if (!it.value().is_string()) throw InputError(index + ": field 'weight_map." + it.key() + "': not a string");
    const std::string f = it.value().get<std::string>();
    if (f.find('/') != std::string::npos || f.find("..") != std::string::npos)
      throw InputError(index + ": field 'weight_map." + it.key() + "': shard '" + f + "' is not a plain file name");
    const std::string p = model_dir + "/" + f;
    if (std::find(files.begin(), files.end(), p) == files.end()) files.push_back(p);
  }
  std::sort(files.begin(), files.end());
  return files;
}

Checkpoint::Checkpoint(const std::string& model_dir) {
  for (const auto& path : checkpoint_files(model_dir)) {
    shards_.push_back(File::open(path));
    const File& f = shards_.back();
    for (const auto& name : f.names()) {
      auto [it, inserted] = where_.emplace(name, shards_.size() - 1);
      if (!inserted)
        throw InputError(path + ": tensor '" + name + "': also in " + shards_[it->second].source());
    }
  }
}

const TensorInfo* Checkpoint::find(const std::string& name) const {
  auto it = where_.find(name);
  return it == where_.end() ? nullptr : shards_[it->second].find(name);
}

const TensorInfo& Checkpoint::at(const std::string& name) const {
  if (const auto* t = find(name)) return *t;
  throw InputError(shards_.empty() ? name : shards_.front().source() + ": tensor '" + name + "': missing");
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : where_) out.push_back(k);
  return out;
}

}  // namespace ps::st
